"""Celery adapter for generation (``default`` queue for HTTP backends; local models run where they are started)."""

from __future__ import annotations

from celery import shared_task

from generation.services import generation_run_claim, generation_run_execute


@shared_task(name="generation.generation_run_execute", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def generation_run_execute_task(run_id: int) -> None:
    """Resumable: a redelivery (its worker died) continues with the run's pending prompts."""
    if generation_run_claim(run_id=run_id):
        generation_run_execute(run_id=run_id)
