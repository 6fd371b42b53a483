"""Celery adapters of the pipeline's hand-offs: an event id in, a hand-off run (pipeline/handoffs.py)."""

from __future__ import annotations

from celery import shared_task
from django.db import IntegrityError, OperationalError

from pipeline.handoffs import handoff_run

_RETRY = {"autoretry_for": (IntegrityError, OperationalError), "max_retries": 3, "retry_backoff": True}


@shared_task(name="pipeline.filter_after_ingest", acks_late=True, ignore_result=True, **_RETRY)
def filter_after_ingest_task(event_id: int) -> None:
    handoff_run(name="filter_after_ingest", event_id=event_id)


@shared_task(name="pipeline.queue_after_filter", acks_late=True, ignore_result=True, **_RETRY)
def queue_after_filter_task(event_id: int) -> None:
    """Two filter runs finishing together may race to queue the same candidate: the loser retries."""
    handoff_run(name="queue_after_filter", event_id=event_id)


@shared_task(name="pipeline.priorities_after_scoring", acks_late=True, ignore_result=True, **_RETRY)
def priorities_after_scoring_task(event_id: int) -> None:
    handoff_run(name="priorities_after_scoring", event_id=event_id)


@shared_task(name="pipeline.batches_after_scoring", acks_late=True, ignore_result=True, **_RETRY)
def batches_after_scoring_task(event_id: int) -> None:
    handoff_run(name="batches_after_scoring", event_id=event_id)


@shared_task(name="annotation.queue_priorities_recompute", acks_late=True, ignore_result=True)
def queue_priorities_recompute_task() -> None:
    """The name scoring runs published before the pipeline existed (messages still waiting in an outbox or a
    queue after an upgrade): recompute the priorities with the classifiers' uncertainty."""
    from annotation.services import queue_priorities_recompute
    from classifiers.selectors import active_learning_inputs

    queue_priorities_recompute(**active_learning_inputs())
