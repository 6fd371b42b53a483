"""Celery adapters of the ground floor."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="core.outbox_flush", ignore_result=True)
def outbox_flush_task() -> None:
    """A safety net on Celery beat for a deployment without the relay process (it runs only when the broker is up)."""
    from core.outbox import outbox_send

    outbox_send()
