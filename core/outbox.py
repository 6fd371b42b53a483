"""The durable outbox: how work leaves a transaction for the broker, never running in the web process.

``run_enqueue`` is called inside the transaction that creates the run: it writes an ``OutboxMessage`` there, so
the run and the message to start it commit together (or not at all), and after commit it tries to publish at
once. When the broker is down the publish fails quietly: the run stays queued, the message stays pending, and
``outbox_send`` (the ``outbox_relay`` process, and a beat task when the broker is up) publishes it later. Tasks
claim their run by a conditional UPDATE, so a message published twice starts the work once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def outbox_enqueue(*, task_name: str, args: list[Any], queue: str = "") -> int:
    """Record a message in the caller's transaction; after commit, try to publish it at once."""
    from core.models import OutboxMessage

    message = OutboxMessage.objects.create(task=task_name, args=args, queue=queue)
    transaction.on_commit(lambda: outbox_send(message_ids=[message.pk]))
    return message.pk


def outbox_send(*, message_ids: list[int] | None = None, limit: int = 500) -> int:
    """Publish pending messages (these, or the oldest ``limit``); returns how many were published. Stops at the
    first failure (the broker is down: the rest would fail too) and leaves it pending with the error."""
    from config.celery import app
    from core.models import OutboxMessage

    sent: list[int] = []
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True)
        if message_ids is not None:
            pending = pending.filter(pk__in=message_ids)
        for message in pending.order_by("id")[:limit]:
            try:
                options = {"queue": message.queue} if message.queue else {}
                app.send_task(message.task, args=message.args, retry=False, **options)
            except Exception as exc:  # the broker is unreachable: keep it for the relay
                logger.warning("outbox: could not publish %s (%s); it stays pending", message, type(exc).__name__)
                OutboxMessage.objects.filter(pk=message.pk).update(
                    attempts=message.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:300]
                )
                break
            sent.append(message.pk)
        if sent:
            OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now())
    return len(sent)


def run_enqueue(*, task: Any, run_id: int) -> None:
    """Start ``task(run_id)`` through the outbox (see the module docstring). ``task`` may be a signature with a
    queue set (``task.s().set(queue=...)``). Call it inside the transaction that created the run."""
    name = getattr(task, "name", None) or task.task
    queue = (getattr(task, "options", None) or {}).get("queue", "")
    outbox_enqueue(task_name=name, args=[run_id], queue=queue)
