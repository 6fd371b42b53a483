"""Celery adapters for the classifiers: ids in, a service call. Queues are chosen when enqueueing (``gpu`` for
cross-encoders, ``cpu`` otherwise); every task is idempotent and acknowledged late, so a task whose worker
died is delivered again and completes the work exactly once."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from classifiers import services


@shared_task(
    name="classifiers.training_run_execute", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def training_run_execute_task(self: Any, run_id: int) -> None:
    """The task id is the claim: a redelivery of the same message (its worker was killed) takes the run over."""
    if services.training_run_claim(run_id=run_id, claimer=str(self.request.id or "")):
        services.training_run_execute(run_id=run_id)


@shared_task(
    name="classifiers.scoring_chunk_execute", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def scoring_chunk_execute_task(self: Any, chunk_id: int) -> None:
    """The task id is the claim: a redelivery of the same message (its worker was killed) takes the chunk over.
    A chunk already done still closes its run if nobody did (its worker died between the two)."""
    claimer = str(self.request.id or f"local-{chunk_id}")
    if services.scoring_chunk_claim(chunk_id=chunk_id, claimer=claimer):
        services.scoring_chunk_execute(chunk_id=chunk_id, claimer=claimer)
    else:
        services.scoring_chunk_close_run(chunk_id=chunk_id)


@shared_task(name="classifiers.retraining_check", acks_late=True, ignore_result=True)
def retraining_check_task() -> None:
    services.retraining_check()


@shared_task(name="classifiers.scoring_sweep", acks_late=True, ignore_result=True)
def scoring_sweep_task() -> None:
    services.scoring_sweep()
