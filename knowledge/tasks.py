"""Celery adapters for the knowledge domain: ids in, a service call, nothing returned through the broker."""

from __future__ import annotations

from celery import shared_task

from knowledge.services import ingest_run_claim, ingest_run_execute


@shared_task(name="knowledge.ingest_run_execute", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def ingest_run_execute_task(run_id: int) -> None:
    """Execute a queued ingest run; a duplicate delivery finds it already claimed and does nothing."""
    if ingest_run_claim(run_id=run_id):
        ingest_run_execute(run_id=run_id)
