"""Celery adapters for the knowledge domain: ids in, a service call, nothing returned through the broker."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from knowledge.services import ingest_files_expire, ingest_run_claim, ingest_run_execute


@shared_task(
    name="knowledge.ingest_run_execute", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def ingest_run_execute_task(self: Any, run_id: int) -> None:
    """Execute a queued ingest run. A duplicate delivery finds it claimed and does nothing; the same task
    delivered again after its worker died takes the run over."""
    if ingest_run_claim(run_id=run_id, claimer=str(self.request.id or "")):
        ingest_run_execute(run_id=run_id)


@shared_task(name="knowledge.ingest_files_expire", ignore_result=True)
def ingest_files_expire_task() -> None:
    """Celery beat: delete uploaded ingest files past ``INGEST_FILE_RETENTION_DAYS`` (idempotent)."""
    ingest_files_expire()
