"""Celery adapters for annotation. (Priorities after scoring are a pipeline hand-off: pipeline/handoffs.py.)"""

from __future__ import annotations

from celery import shared_task

from annotation.services.exhausted import queue_exhausted_settle


@shared_task(name="annotation.queue_exhausted_settle", acks_late=True, ignore_result=True)
def queue_exhausted_settle_task() -> None:
    """Small teams finish: settle candidates no annotator may see any more (idempotent, never waits for a lock)."""
    queue_exhausted_settle()
