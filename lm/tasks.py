"""Celery adapter for COSMO-LM trainings (the ``gpu`` queue, chosen when enqueueing): ids in, a service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from lm.services import lm_training_run_claim, lm_training_run_execute


@shared_task(
    name="lm.lm_training_run_execute",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # a fine-tuning outlives the default hour on a small GPU (or a CPU): its own explicit limits
    time_limit=settings.PLAUSI_LM["TASK_TIME_LIMIT"],
    soft_time_limit=settings.PLAUSI_LM["TASK_TIME_LIMIT"] - 300,
)
def lm_training_run_execute_task(self: Any, run_id: int) -> None:
    """The task id is the claim: a redelivery of the same message (its worker was killed) takes the run over; a
    duplicate of a live or finished run finds it claimed and does nothing."""
    if lm_training_run_claim(run_id=run_id, claimer=str(self.request.id or "")):
        lm_training_run_execute(run_id=run_id)
