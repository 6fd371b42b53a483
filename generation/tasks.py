"""Celery adapter for generation (``default`` queue for HTTP backends; local models run where they are started)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from generation.services import generation_run_claim, generation_run_execute


@shared_task(
    name="generation.generation_run_execute",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def generation_run_execute_task(self: Any, run_id: int) -> None:
    """Resumable: a redelivery (its worker died) continues with the run's pending prompts."""
    if generation_run_claim(run_id=run_id, claimer=str(self.request.id or "")):
        generation_run_execute(run_id=run_id)
