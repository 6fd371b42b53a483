"""The pipeline runs itself: with a real Celery worker and Celery beat on PostgreSQL and Redis, a file uploaded
over the API reaches the annotation queue with no management command; annotators' answers lead to a trained,
activated classifier per target and a rescored pool; the pipeline view shows every stage's last run."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import QueueItem
from classifiers.models import CandidateScore, ModelVersion, ScoringRun, TrainingRun
from core.models import OutboxMessage, PipelineEvent
from filtering.models import FilterRun
from knowledge.models import Candidate, IngestRun
from tests.conftest import (
    ROOT,
    child_database_url,
    free_port,
    process_stop,
    search_buy,
    start_celery_worker,
    stop_celery_worker,
    wait_until,
    web_spawn,
)
from tests.factories import UserFactory, api_key_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The production default (the test settings switch hand-offs off for the other tests' sake).
HANDOFFS_ON = {
    "filter_after_ingest": True,
    "queue_after_filter": True,
    "train_after_labels": True,
    "activate_after_training": True,
    "priorities_after_scoring": True,
    "batches_after_scoring": False,
}
GOOD = ["grip icy sidewalks", "keep feet warm in deep snow", "stay dry in slush", "support swollen ankles"]
BAD = ["be a boot", "buy it now", "the item", "is nice"]


def _upload_file() -> bytes:
    import orjson

    lines = []
    for i in range(12):
        for tail in (GOOD[i % 4], BAD[i % 4]):
            lines.append(
                orjson.dumps(
                    search_buy(
                        f"{tail} {['walking', 'commuting', 'hiking', 'travel', 'work', 'school'][i % 6]} {i}",
                        query=f"winter boots {i}",
                        product={"id": f"B{i:04d}", "title": f"Boot {i}", "category": "Shoes"},
                    )
                )
            )
    return b"\n".join(lines) + b"\n"


def _beat(env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    (ROOT / "var").mkdir(exist_ok=True)
    log = (ROOT / "var" / "test-pipeline-beat.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process


def _answer_everything(client: httpx.Client) -> int:
    """Answer every question the annotator is given: Yes for good tails, No for the others from the first question
    after the gates on (the bad tails are well-formed; two No answers on a gate would wait for a third annotator,
    issue 21)."""
    answered = 0
    step = client.get("/api/annotation/next").json()["step"]
    while step is not None:
        good = any(step["candidate"]["tail"].startswith(tail) for tail in GOOD)
        good = good or step["question"]["slug"] in ("complete", "relevant", "informative")
        response = client.post(
            "/api/annotation/answers",
            json={
                "assignment": step["assignment"],
                "question": step["question"]["slug"],
                "value": good,
                "idempotency_key": uuid.uuid4().hex,
            },
        )
        assert response.status_code == 201, response.text
        answered += 1
        step = response.json()["step"]
    return answered


@pytest.fixture
def own_broker() -> Iterator[str]:
    """A Redis database that no other test's worker listens to (the session's worker would take the tasks)."""
    url = "redis://127.0.0.1:6379/11"
    yield url
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}*"))
    if keys:
        client.delete(*keys)


def _token(role: str, username: str) -> str:
    return api_key_for(UserFactory(role=role, username=username))


def test_an_upload_flows_to_annotators_and_their_answers_to_an_active_classifier_and_a_rescored_pool(
    tmp_path: Path, settings: Any, own_broker: str
) -> None:
    """The web process, a worker and beat, in production's shape, on a broker of their own; the test only speaks HTTP
    and reads the database."""
    settings.PLAUSI_PIPELINE = HANDOFFS_ON  # for the pages rendered in this process at the end
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": child_database_url(),
        "TEST_CELERY_BROKER_URL": own_broker,
        "RETRAIN_CHECK_SECONDS": "1",
        "OUTBOX_FLUSH_SECONDS": "2",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        **{f"PIPELINE_{name.upper()}": str(on).lower() for name, on in HANDOFFS_ON.items()},
    }
    port = free_port()
    web = web_spawn(env, port, "test-pipeline-web.log")
    worker = start_celery_worker(queues="default,cpu", log_name="test-pipeline-worker.log", extra_env=env)
    beat = _beat(env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Token {_token('admin', 'flow-admin')}"}, timeout=30)
    try:
        assert wait_until(lambda: _up(url), timeout=60), "the web process did not start: see var/test-pipeline-web.log"
        response = admin.post("/api/ingest/", files={"files": ("boots.jsonl", _upload_file())})
        assert response.status_code == 202, response.text

        # ingest -> filter -> queue, with no management command
        def queued() -> bool:
            pooled = Candidate.objects.filter(status="pooled").count()
            return not Candidate.objects.filter(status="ingested").exists() and 0 < pooled == QueueItem.objects.count()

        assert wait_until(queued, timeout=90), f"queued {QueueItem.objects.count()}; see var/test-pipeline-*.log"
        in_queue = QueueItem.objects.count()
        assert in_queue >= 20  # the filters may drop a junk tail or two
        assert IngestRun.objects.filter(status="succeeded").count() == 1
        assert FilterRun.objects.filter(status="succeeded").count() >= 1
        assert PipelineEvent.objects.filter(name="ingest.succeeded").exists()
        assert PipelineEvent.objects.filter(name="filter.succeeded").exists()

        # two annotators answer everything; beat's label counter then trains both targets
        for name in ("pipeline-ann-1", "pipeline-ann-2"):
            headers = {"Authorization": f"Token {_token('annotator', name)}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as annotator:
                assert _answer_everything(annotator) > 0
        assert Candidate.objects.filter(status="labelled").count() == in_queue

        def trained_and_rescored() -> bool:
            active = ModelVersion.objects.filter(is_active=True).count() == 2
            return active and ScoringRun.objects.filter(status="succeeded").count() >= 2

        assert wait_until(trained_and_rescored, timeout=180), (
            f"trainings: {list(TrainingRun.objects.values_list('target', 'status', 'message'))}; see var/"
        )
        assert CandidateScore.objects.filter(target="typical").count() == in_queue  # the whole pool, rescored
        assert set(TrainingRun.objects.values_list("trigger", flat=True)) == {"labels"}
        assert wait_until(lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists(), timeout=30), (
            "hand-off messages were left unpublished"
        )

        # the pipeline view: every stage with its last run, in the API and on the pages
        curator_headers = {"Authorization": f"Token {_token('curator', 'flow-curator')}"}
        overview = httpx.get(f"{url}/api/pipeline/", headers=curator_headers, timeout=30).json()
        stages = {stage["name"]: stage for stage in overview["stages"]}
        assert stages["train"]["last_run"]["status"] == "succeeded"
        assert stages["score"]["last_run"]["kind"] == "scoring"
        assert stages["annotate"]["backlog"]["open_in_queue"] == 0
        assert stages["filter"]["backlog"]["ingested"] == 0
        assert all(handoff["enabled"] for handoff in overview["handoffs"] if handoff["name"] != "batches_after_scoring")
        assert stages["ingest"]["last_run"] is None  # ingest runs are for admins to see
        admin_view = admin.get("/api/pipeline/").json()
        assert {stage["name"]: stage for stage in admin_view["stages"]}["ingest"]["last_run"]["status"] == "succeeded"
        browser = Client()
        browser.force_login(UserFactory(role="curator"))
        for page_url in (reverse("dashboard"), reverse("pipeline")):
            page = browser.get(page_url)
            assert page.status_code == 200 and b'data-stage="score"' in page.content
    finally:
        admin.close()
        process_stop(beat)
        process_stop(web)
        stop_celery_worker(worker)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def test_a_switched_off_hand_off_leaves_its_stage_waiting_and_says_so(
    settings: Any, ingest: Any, write_lines: Any, monkeypatch: Any
) -> None:
    """Without a worker: an ingest with ``filter_after_ingest`` off writes its event but no hand-off message, and
    the pipeline view says the filter stage waits for an operator."""
    # messages stay in the outbox: a worker left running by an earlier module must not take the run it queues
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    settings.PLAUSI_PIPELINE = {**HANDOFFS_ON, "filter_after_ingest": False}
    ingest(write_lines([search_buy("grip icy sidewalks"), search_buy("keep feet warm")]))
    event = PipelineEvent.objects.get(name="ingest.succeeded")
    assert not OutboxMessage.objects.filter(task="pipeline.filter_after_ingest").exists()
    from pipeline.handoffs import handoff_run

    assert handoff_run(name="filter_after_ingest", event_id=event.pk) is None  # off: a late message does nothing
    curator = APIClient()
    curator.force_authenticate(UserFactory(role="curator"))
    filter_stage = next(s for s in curator.get(reverse("api-pipeline")).json()["stages"] if s["name"] == "filter")
    assert filter_stage["backlog"]["ingested"] == 2
    assert "filter_after_ingest is switched off" in filter_stage["waiting"]

    settings.PLAUSI_PIPELINE = {**settings.PLAUSI_PIPELINE, "filter_after_ingest": True}
    run_id = handoff_run(name="filter_after_ingest", event_id=event.pk)
    assert run_id is not None and FilterRun.objects.get(pk=run_id).status == "queued"
    assert handoff_run(name="filter_after_ingest", event_id=event.pk) is None  # one queued already: no second
