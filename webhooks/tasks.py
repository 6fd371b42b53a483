"""Celery adapters: send deliveries (the fan-out's outbox message) and the beat sweep of due deliveries."""

from __future__ import annotations

from celery import shared_task

from webhooks.services import deliveries_send, deliveries_sweep


@shared_task(name="webhooks.deliveries_send", acks_late=True, ignore_result=True)
def deliveries_send_task(delivery_ids: list[int]) -> None:
    """Idempotent: only deliveries that are due are claimed; a second delivery of this message finds none."""
    deliveries_send(ids=[int(pk) for pk in delivery_ids])


@shared_task(name="webhooks.deliveries_sweep", acks_late=True, ignore_result=True, expires=60)
def deliveries_sweep_task() -> None:
    deliveries_sweep()
