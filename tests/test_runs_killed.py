"""Every kind of run survives its Celery worker being killed (SIGKILL) in the middle: the broker delivers the task
again (``acks_late``, ``reject_on_worker_lost``, a 3-s visibility timeout here), a new worker takes the run over
once the dead claimant has missed its heartbeats (``core.runs``), and the run completes exactly once.

Filter runs and scoring runs have the same test in their own apps (tests/filtering/test_filter_worker_killed.py,
tests/classifiers/test_worker.py); the sweep's takeover of a run whose task is gone for good is here too.
"""

from __future__ import annotations

import datetime as dt
import gzip
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.db import connection
from django.utils import timezone

from core.models import PipelineEvent
from core.runs import runs_sweep
from tests.conftest import start_celery_worker, stop_celery_worker, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WORKER_ENV = {"TEST_CELERY_VISIBILITY_TIMEOUT": "3", "RUN_HEARTBEAT_SECONDS": "1"}


def _kill_mid_run(
    *,
    queue: str,
    start: Callable[[], Any],
    in_the_middle: Callable[[], bool],
    finished: Callable[[], bool],
    name: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> None:
    """Start a worker, start the run, SIGKILL the worker once ``in_the_middle()`` holds, check the run did not
    finish, then let a second worker (started past the visibility timeout) complete it."""
    env = {**WORKER_ENV, **(extra_env or {})}
    first = start_celery_worker(queues=queue, log_name=f"test-{name}-killed.log", extra_env=env)
    try:
        start()
        assert wait_until(in_the_middle, timeout=60, interval=0.01), f"the {name} run never got going: see var/"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert not finished(), f"the {name} run ended before the kill; make it longer"
    time.sleep(4)  # past the visibility timeout (and three missed beats): the new worker restores the task
    second = start_celery_worker(queues=queue, log_name=f"test-{name}-second.log", extra_env=env)
    try:
        assert wait_until(finished, timeout=timeout), f"the second worker did not complete the {name} run: see var/"
    finally:
        stop_celery_worker(second)


def _insert_plain_candidates(count: int, *, status: str, tail: str = "grip icy sidewalks") -> None:
    """``count`` plain-head candidates with distinct tails, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO knowledge_candidate (dedup_key, head_kind, head_text, relation_id, tail, tail_normalized, "
            "generator, prompt_id, support_count, merged_support, known_labels, status, created_at, updated_at) "
            "SELECT md5(%s || g::text), 'plain', 'winter boots ' || (g %% 97)::text, "
            "(SELECT id FROM knowledge_relation WHERE slug = 'capable_of'), %s || ' ' || g::text, "
            "%s || ' ' || g::text, '', '', 1, 0, '{}', %s, now(), now() FROM generate_series(1, %s) g",
            [uuid.uuid4().hex, tail, tail, status, count],
        )


# --- ingest -------------------------------------------------------------------------------------------------------


def _big_file(tmp_path: Path, lines: int) -> Path:
    path = tmp_path / "big.jsonl.gz"
    rows = (
        orjson.dumps(
            {
                "kind": "search_buy",
                "query": f"winter boots {i % 5000}",
                "product": {"id": f"B{i % 20000:06d}", "title": f"Ankle boot {i % 20000}", "category": "Shoes"},
                "relation": "capable_of",
                "tail": f"grip icy sidewalks {i}",
            }
        )
        for i in range(lines)
    )
    path.write_bytes(gzip.compress(b"\n".join(rows) + b"\n", compresslevel=1))
    return path


def test_an_ingest_run_killed_mid_read_completes_once_on_a_new_worker(tmp_path: Path) -> None:
    from knowledge.models import Candidate, IngestedFile, IngestRun
    from knowledge.services import IngestFileSpec, ingest_run_create

    lines = 150_000
    path = _big_file(tmp_path, lines)
    queue = f"killtest-ingest-{uuid.uuid4().hex[:6]}"
    runs: list[int] = []

    def start() -> None:
        run = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source=IngestRun.Source.CLI)
        from knowledge.tasks import ingest_run_execute_task

        ingest_run_execute_task.apply_async((run.pk,), queue=queue)
        runs.append(run.pk)

    _kill_mid_run(
        queue=queue,
        start=start,
        in_the_middle=lambda: IngestRun.objects.filter(pk__in=runs, status="running", progress_done__gt=0).exists(),
        finished=lambda: IngestRun.objects.filter(pk__in=runs, status="succeeded").exists(),
        name="ingest",
    )
    run = IngestRun.objects.get(pk=runs[0])
    assert run.attempts == 2 and run.lines_valid == lines and run.candidates_created == lines
    assert Candidate.objects.count() == lines and IngestedFile.objects.filter(run=run).count() == 1
    assert PipelineEvent.objects.filter(name="ingest.succeeded").count() == 1  # its hand-off, once


# --- training -----------------------------------------------------------------------------------------------------


def _labelled(count: int) -> None:
    """``count`` labelled candidates, half Yes on every question, half failing the 'informative' gate."""
    _insert_plain_candidates(count // 2, status="labelled", tail="keep feet warm in deep snow")
    _insert_plain_candidates(count - count // 2, status="labelled", tail="the product is a thing")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, method, "
            "updated_at) SELECT c.id, q.id, NOT (c.tail LIKE 'the product%%' AND q.slug = 'informative'), 1.0, 2, 0, "
            "'majority', now() FROM knowledge_candidate c CROSS JOIN annotation_question q "
            "WHERE q.slug IN ('complete', 'relevant', 'informative', 'plausible', 'typical')"
        )
        cursor.execute(
            "INSERT INTO annotation_newlabelcount (question_id, count, updated_at) SELECT id, %s, now() "
            "FROM annotation_question ON CONFLICT (question_id) DO UPDATE SET count = excluded.count",
            [count],
        )


def test_a_training_killed_mid_fit_completes_once_and_the_target_can_be_trained_again(settings: Any) -> None:
    from classifiers import services
    from classifiers.models import ModelVersion, TrainingRun

    prefix = f"killtest-{uuid.uuid4().hex[:6]}-"
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "QUEUE_PREFIX": prefix}
    _labelled(60_000)
    runs: list[int] = []

    def start() -> None:
        run = services.training_run_request(target="typical")
        assert run is not None
        runs.append(run.pk)

    _kill_mid_run(
        queue=f"{prefix}cpu",
        start=start,
        in_the_middle=lambda: TrainingRun.objects.filter(pk__in=runs, phase="cross-validating").exists(),
        finished=lambda: TrainingRun.objects.filter(pk__in=runs, status__in=["succeeded", "failed"]).exists(),
        name="training",
        extra_env={"CLASSIFIER_QUEUE_PREFIX": prefix},
        timeout=240,
    )
    run = TrainingRun.objects.get(pk=runs[0])
    assert run.status == "succeeded", run.message + run.error
    assert run.attempts == 2
    assert ModelVersion.objects.filter(training_run=run).count() == 1  # registered once
    assert ModelVersion.objects.filter(target="typical", is_active=True).count() == 1
    assert PipelineEvent.objects.filter(name="training.succeeded").count() == 1
    # single-flight is not blocked: the same target can be trained again
    assert services.training_run_request(target="typical") is not None


# --- export -------------------------------------------------------------------------------------------------------


def _accepted_graph(count: int) -> None:
    _insert_plain_candidates(count, status="accepted")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO curation_graphnode (kind, key, label) SELECT DISTINCT 'head', head_text, head_text "
            "FROM knowledge_candidate UNION ALL SELECT 'concept', tail_normalized, tail FROM knowledge_candidate"
        )
        cursor.execute(
            "INSERT INTO curation_acceptededge (candidate_id, head_id, relation_id, tail_id, score, versions, audit, "
            "accepted_at) SELECT c.id, h.id, c.relation_id, t.id, 0.9, '{}', '{}', now() FROM knowledge_candidate c "
            "JOIN curation_graphnode h ON h.kind = 'head' AND h.key = c.head_text "
            "JOIN curation_graphnode t ON t.kind = 'concept' AND t.key = c.tail_normalized"
        )


def test_an_export_killed_mid_write_completes_once_with_the_whole_file(settings: Any, tmp_path: Path) -> None:
    from curation.models import CurationEvent, ExportRun
    from curation.services import export_folder, export_run_create

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    edges = 200_000
    _accepted_graph(edges)
    queue = f"killtest-export-{uuid.uuid4().hex[:6]}"
    runs: list[int] = []

    def start() -> None:
        from curation.tasks import export_run_execute_task

        run = export_run_create(format="jsonl", enqueue=False)
        export_run_execute_task.apply_async((run.pk,), queue=queue)
        runs.append(run.pk)

    _kill_mid_run(
        queue=queue,
        start=start,
        in_the_middle=lambda: ExportRun.objects.filter(pk__in=runs, status="running", progress_done__gt=0).exists(),
        finished=lambda: ExportRun.objects.filter(pk__in=runs, status__in=["succeeded", "failed"]).exists(),
        name="export",
        extra_env={"PRIVATE_MEDIA_ROOT": str(tmp_path)},
    )
    run = ExportRun.objects.get(pk=runs[0])
    assert run.status == "succeeded", run.message + run.error
    assert run.attempts == 2 and run.counts["edges"] == edges
    written = export_folder() / run.file_name
    assert sum(1 for _ in written.open("rb")) == edges and written.stat().st_size == run.file_size
    assert not [p for p in export_folder().iterdir() if p.name.endswith(".partial")]  # the dead worker's is gone
    assert CurationEvent.objects.filter(action="export").count() == 1


# --- generation ---------------------------------------------------------------------------------------------------


def test_a_generation_run_killed_mid_prompting_completes_once(ingest: Any, write_lines: Any, settings: Any) -> None:
    from generation.models import GenerationRun, GenerationTask
    from generation.services import generation_run_create
    from knowledge.models import BehaviourPair, Candidate, IngestRun
    from tests.conftest import search_buy
    from tests.generation.fake_openai import FakeOpenAI

    records = [search_buy(f"tail {i}", query=f"winter boots {i}") for i in range(120)]
    ingest(write_lines(records, name="pairs.jsonl"))
    Candidate.objects.all().delete()  # only the pairs are wanted
    pair_ids = list(BehaviourPair.objects.values_list("pk", flat=True))
    queue = f"killtest-generation-{uuid.uuid4().hex[:6]}"
    runs: list[int] = []
    with FakeOpenAI(delay=0.05) as fake:
        env = {"GENERATION_OPENAI_BASE_URL": fake.url, "GENERATION_MAX_CONCURRENCY": "4"}

        def start() -> None:
            from generation.tasks import generation_run_execute_task

            run = generation_run_create(
                backend="openai", relations=["capable_of"], pair_ids=pair_ids, model_name="fake-llm", enqueue=False
            )
            generation_run_execute_task.apply_async((run.pk,), queue=queue)
            runs.append(run.pk)

        _kill_mid_run(
            queue=queue,
            start=start,
            in_the_middle=lambda: GenerationRun.objects.filter(pk__in=runs, progress_done__gte=64).exists(),
            finished=lambda: GenerationRun.objects.filter(pk__in=runs, status__in=["succeeded", "failed"]).exists(),
            name="generation",
            extra_env=env,
        )
        asked = dict(fake.requests)
    run = GenerationRun.objects.get(pk=runs[0])
    assert run.status == "succeeded", run.message + run.error
    assert run.attempts == 2
    assert GenerationTask.objects.filter(run=run, status="done").count() == len(pair_ids)
    # prompts committed before the kill were not asked again (at most the step in flight was)
    assert sum(asked.values()) <= len(pair_ids) + settings.PLAUSI_GENERATION["PROMPTS_PER_STEP"]
    assert IngestRun.objects.filter(generation_run=run, status="succeeded").count() == 1
    assert Candidate.objects.count() == run.counts["candidates_created"] > 0


# --- the sweep ----------------------------------------------------------------------------------------------------


def test_the_sweep_puts_a_run_whose_worker_is_gone_back_to_work_and_gives_up_after_the_attempts(
    settings: Any,
) -> None:
    """A training whose task is lost for good (its worker died and the broker forgot the message): the sweep
    queues it again and a worker completes it; one that keeps dying is failed, so single-flight never blocks."""
    from classifiers.models import TrainingRun
    from classifiers.services import training_run_request

    prefix = f"sweeptest-{uuid.uuid4().hex[:6]}-"
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "QUEUE_PREFIX": prefix}
    _labelled(400)
    stale = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS + 5)
    lost = TrainingRun.objects.create(
        target="typical", kind="tfidf_lr", status="running", claimed_by="a-dead-task", heartbeat_at=stale, attempts=1
    )
    assert training_run_request(target="typical") is None  # blocked while it looks in flight
    worker = start_celery_worker(
        queues=f"{prefix}cpu",
        log_name="test-sweep.log",
        extra_env={
            **WORKER_ENV,
            "CLASSIFIER_QUEUE_PREFIX": prefix,
        },
    )
    try:
        report = runs_sweep()
        assert report.requeued == 1
        assert wait_until(lambda: TrainingRun.objects.filter(pk=lost.pk, status="succeeded").exists(), timeout=60)
    finally:
        stop_celery_worker(worker)
    lost.refresh_from_db()
    assert lost.attempts == 2 and lost.claimed_by != "a-dead-task"
    hopeless = TrainingRun.objects.create(
        target="plausible",
        kind="tfidf_lr",
        status="running",
        claimed_by="dies-every-time",
        heartbeat_at=stale,
        attempts=settings.RUN_MAX_ATTEMPTS,
    )
    assert runs_sweep().failed == 1
    hopeless.refresh_from_db()
    assert hopeless.status == "failed" and "given up" in hopeless.message
    assert training_run_request(target="plausible") is not None
