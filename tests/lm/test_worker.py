"""A COSMO-LM training through a real Celery worker on Redis, listening on the gpu queue only: the run requested
by the service is published through the outbox, claimed and executed once by the worker, and registers a version."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lm.models import LMTrainingRun, LMVersion
from tests.conftest import start_celery_worker, stop_celery_worker, wait_until
from tests.lm.conftest import TINY_PARAMS

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_gpu_worker_executes_a_requested_training_once_and_registers_its_version(
    tiny_base: str, settings: Any
) -> None:
    from lm.services import lm_queue, lm_training_run_request

    prefix = f"lmtest-{uuid.uuid4().hex[:6]}-"
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "QUEUE_PREFIX": prefix}
    worker = start_celery_worker(
        queues=lm_queue(),
        log_name="test-lm-worker.log",
        extra_env={"CLASSIFIER_QUEUE_PREFIX": prefix, "LM_BASE_MODEL": tiny_base},
    )
    try:
        params = {**TINY_PARAMS, "epochs": 1, "generation_examples": 2}
        run = lm_training_run_request(params=params, held_out_share=0.25)  # commits: the outbox publishes it
        assert lm_queue() == f"{prefix}gpu"
        assert wait_until(
            lambda: LMTrainingRun.objects.get(pk=run.pk).status in ("succeeded", "failed"), timeout=240
        ), "the worker never finished the training"
    finally:
        stop_celery_worker(worker)
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    assert run.attempts == 1 and run.claimed_by and not run.claimed_by.startswith("local:")  # the task's id
    version = LMVersion.objects.get(training_run=run)
    assert version.base_model == tiny_base and version.is_active
