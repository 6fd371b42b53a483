"""Celery adapters of serving: ids in, a service call (default queue; generation may be routed elsewhere)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from serving.services import serving_generated_execute, serving_refresh_after_event, serving_store_after_event

_RETRY = {"autoretry_for": (OperationalError,), "max_retries": 3, "retry_backoff": True}


@shared_task(name="serving.store_update", acks_late=True, reject_on_worker_lost=True, ignore_result=True, **_RETRY)
def serving_store_update_task(event_id: int) -> None:
    """graph.updated -> the feature store (idempotent: a redelivery finds nothing changed)."""
    serving_store_after_event(event_id=event_id)


@shared_task(name="serving.refresh", acks_late=True, ignore_result=True, **_RETRY)
def serving_refresh_task(event_id: int) -> None:
    serving_refresh_after_event(event_id=event_id)


@shared_task(
    name="serving.generate_for_key",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
)
def serving_generate_for_key_task(entry_id: int, claim: int) -> None:
    """A miss's generation and judgement; a message of an outdated claim does nothing."""
    serving_generated_execute(entry_id=entry_id, claim=claim)
