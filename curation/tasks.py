"""Celery adapters for curation: ids in, a service call."""

from __future__ import annotations

from celery import shared_task

from curation.services import export_run_claim, export_run_execute


@shared_task(name="curation.export_run_execute", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_run_execute_task(run_id: int) -> None:
    """Write a queued export; a duplicate delivery finds it claimed and does nothing."""
    if export_run_claim(run_id=run_id):
        export_run_execute(run_id=run_id)
