"""Pool scoring through real Celery workers on Redis, including a worker killed (SIGKILL) in the middle of a run:
a second worker completes the run with exactly one score per candidate and the right counts."""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import pytest
from django.db import connection

from classifiers import services
from classifiers.models import CandidateScore, ScoringChunk, ScoringRun
from classifiers.selectors import SCORABLE
from knowledge.models import Candidate, Relation
from tests.classifiers.helpers import GOOD, labelled_pool
from tests.conftest import start_celery_worker, stop_celery_worker, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _many_pooled(count: int) -> None:
    template = Candidate.objects.filter(status="pooled").first()
    assert template is not None
    relation = Relation.objects.get(slug="used_for_function")
    Candidate.objects.bulk_create(
        [
            Candidate(
                dedup_key=uuid.uuid4().hex,
                head_kind=template.head_kind,
                pair=template.pair,
                head_text=template.head_text,
                relation=relation,
                tail=f"{GOOD[i % len(GOOD)]} variant {i}",
                tail_normalized=f"{GOOD[i % len(GOOD)]} variant {i}",
                status="pooled",
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def test_a_worker_killed_mid_run_leaves_no_missing_and_no_duplicated_scores(settings: Any) -> None:
    queue_prefix = f"killtest-{uuid.uuid4().hex[:6]}-"
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "CHUNK_SIZE": 60, "QUEUE_PREFIX": queue_prefix}
    labelled_pool(repeat=2, unlabelled=2)
    _many_pooled(2_400)
    # the workers train, start the scoring run and enqueue its chunks themselves: they need the same settings
    workers_env = {
        "TEST_CELERY_VISIBILITY_TIMEOUT": "3",
        "CLASSIFIER_CHUNK_SIZE": "60",
        "CLASSIFIER_QUEUE_PREFIX": queue_prefix,
    }
    first = start_celery_worker(queues=f"{queue_prefix}cpu", log_name="test-worker-killed.log", extra_env=workers_env)
    try:
        run = services.training_run_request(target="typical")  # enqueues the training on the prefixed cpu queue
        assert run is not None
        assert wait_until(lambda: ScoringRun.objects.exists(), timeout=60), "the training never activated a version"
        scoring = ScoringRun.objects.get()
        assert scoring.chunks_total > 20
        assert wait_until(
            lambda: ScoringChunk.objects.filter(run=scoring, status="done").count() >= 3, timeout=60, interval=0.02
        )
        first.send_signal(signal.SIGKILL)  # mid-run: acks_late leaves its current chunk unacknowledged
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    scoring.refresh_from_db()
    assert scoring.status == "running" and scoring.chunks_done < scoring.chunks_total, "the run ended before the kill"
    time.sleep(4)  # past the visibility timeout: the new worker restores the dead one's unacknowledged task at start
    second = start_celery_worker(queues=f"{queue_prefix}cpu", log_name="test-worker-second.log", extra_env=workers_env)
    try:
        assert wait_until(lambda: ScoringRun.objects.filter(pk=scoring.pk, status="succeeded").exists(), timeout=120), (
            "the second worker did not complete the run"
        )
    finally:
        stop_celery_worker(second)
    scoring.refresh_from_db()
    scorable = Candidate.objects.filter(status__in=SCORABLE).count()
    assert scoring.chunks_done == scoring.chunks_total
    assert scoring.progress_done == scoring.progress_total == scorable
    assert CandidateScore.objects.filter(target="typical").count() == scorable
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT candidate_id) FROM classifiers_candidatescore WHERE target = 'typical'"
        )
        total, distinct = cursor.fetchone()
    assert total == distinct == scorable
