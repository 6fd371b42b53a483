"""Celery adapters for filtering (routed to the ``cpu`` queue): ids in, a service call."""

from __future__ import annotations

from celery import shared_task

from filtering.services import filter_run_claim, filter_run_execute


@shared_task(name="filtering.filter_run_execute", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def filter_run_execute_task(run_id: int) -> None:
    """Execute a queued filter run; a duplicate delivery finds it already claimed and does nothing."""
    if filter_run_claim(run_id=run_id):
        filter_run_execute(run_id=run_id)
