"""Celery adapters of the ground floor."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="core.outbox_flush", ignore_result=True)
def outbox_flush_task() -> None:
    """A safety net on Celery beat for a deployment without the relay process (it runs only when the broker is up)."""
    from core.outbox import outbox_send

    outbox_send()


@shared_task(name="core.runs_sweep", ignore_result=True)
def runs_sweep_task() -> None:
    """Put runs whose claimant stopped beating back to work, and publish again queued runs whose message was
    lost (``core.runs.runs_sweep``)."""
    from core.runs import runs_sweep

    runs_sweep()
