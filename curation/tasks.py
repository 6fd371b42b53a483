"""Celery adapters for curation: ids in, a service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from curation.services import (
    export_files_expire,
    export_run_claim,
    export_run_execute,
    peer_import_claim,
    peer_import_execute,
)


@shared_task(
    name="curation.export_run_execute", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def export_run_execute_task(self: Any, run_id: int) -> None:
    """Write a queued export. A duplicate delivery finds it claimed and does nothing; the same task delivered
    again after its worker died takes the run over and writes the file again."""
    if export_run_claim(run_id=run_id, claimer=str(self.request.id or "")):
        export_run_execute(run_id=run_id)


@shared_task(name="curation.export_files_expire", ignore_result=True)
def export_files_expire_task() -> None:
    """Celery beat: delete export files past ``EXPORT_FILE_RETENTION_DAYS`` (idempotent)."""
    export_files_expire()


@shared_task(
    name="curation.peer_import_execute", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def peer_import_execute_task(self: Any, run_id: int) -> None:
    """Execute a queued import (its ingest run, then its labels in the merge's transaction); claimed like any
    ingest run, so a duplicate delivery does nothing."""
    if peer_import_claim(run_id=run_id, claimer=str(self.request.id or "")):
        peer_import_execute(run_id=run_id)
