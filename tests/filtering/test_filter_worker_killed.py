"""A Celery worker killed (SIGKILL) in the middle of a filter run: the broker delivers the task again to a new
worker, which takes the run over and completes it with the right counts and no duplicated decision."""

from __future__ import annotations

import copy
import signal
import time
import uuid

import pytest
from django.db import connection

from filtering.config import DEFAULT_CONFIG
from filtering.models import FilterDecision, FilterRun
from filtering.services import filter_configuration_create, filter_run_create
from filtering.tasks import filter_run_execute_task
from knowledge.ingest.parsing import normalize_text
from knowledge.models import Candidate
from tests.conftest import start_celery_worker, stop_celery_worker, wait_until
from tests.factories import CandidateFactory

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_filter_run_survives_its_worker_being_killed() -> None:
    template = CandidateFactory(status="ingested", tail="grip icy sidewalks")
    tails = ["grip icy sidewalks", "keep feet warm", "because the product is used for", "the", "stay dry in slush"]
    texts = [f"{tails[i % 5]} {i}" if i % 5 not in (2, 3) else tails[i % 5] for i in range(40_000)]
    Candidate.objects.bulk_create(
        [
            Candidate(
                dedup_key=uuid.uuid4().hex,
                head_kind=template.head_kind,
                pair=template.pair,
                relation=template.relation,
                tail=text,
                tail_normalized=normalize_text(text),
                status="ingested",
            )
            for text in texts
        ],
        batch_size=2000,  # under PostgreSQL's 65,535 bound parameters
    )
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["enabled"] = False
    filter_configuration_create(config=config)
    run = filter_run_create()
    queue = f"killtest-{uuid.uuid4().hex[:6]}"
    env = {"TEST_CELERY_VISIBILITY_TIMEOUT": "3"}
    first = start_celery_worker(queues=queue, log_name="test-filter-worker-killed.log", extra_env=env)
    try:
        filter_run_execute_task.apply_async((run.pk,), queue=queue)
        assert wait_until(
            lambda: FilterRun.objects.filter(pk=run.pk, status="running").exists(), timeout=30, interval=0.01
        )
        time.sleep(0.3)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    run.refresh_from_db()
    assert run.status == "running", f"the run ended before the kill ({run.status})"
    time.sleep(4)  # past the visibility timeout: the new worker restores the dead one's task at start
    second = start_celery_worker(queues=queue, log_name="test-filter-worker-second.log", extra_env=env)
    try:
        assert wait_until(lambda: FilterRun.objects.filter(pk=run.pk, status="succeeded").exists(), timeout=90)
    finally:
        stop_celery_worker(second)
    run.refresh_from_db()
    total = Candidate.objects.count()
    assert run.candidates_seen == total
    assert run.moved_to_pooled + run.moved_to_filtered_out == total
    assert not Candidate.objects.filter(status="ingested").exists()
    assert Candidate.objects.filter(status="filtered_out").count() == run.moved_to_filtered_out > 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT (candidate_id, rule)) FROM filtering_filterdecision WHERE run_id = %s",
            [run.pk],
        )
        decisions, distinct = cursor.fetchone()
    assert decisions == distinct == FilterDecision.objects.filter(run=run).count() > 0
