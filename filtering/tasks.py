"""Celery adapters for filtering (routed to the ``cpu`` queue): ids in, a service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from filtering.services import filter_run_claim, filter_run_execute


@shared_task(
    name="filtering.filter_run_execute", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def filter_run_execute_task(self: Any, run_id: int) -> None:
    """Execute a queued filter run. A duplicate delivery finds it claimed and does nothing; the same task
    delivered again after its worker died (``acks_late``) takes the run over and completes it."""
    if filter_run_claim(run_id=run_id, claimer=str(self.request.id or "")):
        filter_run_execute(run_id=run_id)
