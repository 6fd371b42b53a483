"""Pipeline events and who is handed them.

A stage that finishes something calls ``event_emit`` inside the transaction of its own last writes. That records a
``PipelineEvent`` and, for every subscriber of the event, an outbox message (``core.outbox``) whose only argument
is the event's id. So the event, the work that caused it and every hand-off it starts commit together or not at
all, and the broker being down delays a hand-off but never loses it.

Subscribers come from two places: hand-offs registered in code (``subscribe``, called by the pipeline module,
each switchable by name in ``PLAUSI_PIPELINE``), and extra Celery task names listed per event in
``PLAUSI_PIPELINE_SUBSCRIBERS`` (for consumers outside the pipeline: exports, webhooks, a serving cache). The
ground floor knows event names and task names only; it imports no app.

Listeners (``listen``, registered by an app's ``ready``) are called by ``event_emit`` itself, inside the same
transaction: the webhooks app creates its deliveries there, so an event and its deliveries commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.outbox import outbox_enqueue


@dataclass(frozen=True)
class Subscription:
    """A hand-off: on ``event``, publish ``task`` (args: the event id), unless ``PLAUSI_PIPELINE[name]`` is off."""

    name: str
    event: str
    task: str
    queue: str = ""


_SUBSCRIPTIONS: dict[str, Subscription] = {}


def subscribe(subscription: Subscription) -> None:
    _SUBSCRIPTIONS[subscription.name] = subscription


def subscriptions() -> list[Subscription]:
    return list(_SUBSCRIPTIONS.values())


Listener = Callable[..., object]
_LISTENERS: dict[str, Listener] = {}


def listen(name: str, listener: Listener) -> None:
    """Call ``listener(event_id=, name=, payload=)`` for every event, in the emitting transaction (keyed by
    ``name``, so registering twice keeps one). It must be quick and set-based: it runs on every stage's commit path."""
    _LISTENERS[name] = listener


def handoff_enabled(name: str) -> bool:
    """Whether an automatic hand-off is switched on (``PLAUSI_PIPELINE``; a name it does not list is on)."""
    return bool(getattr(settings, "PLAUSI_PIPELINE", {}).get(name, True))


def event_emit(*, name: str, payload: dict[str, Any] | None = None) -> int:
    """Record an event and one outbox message per enabled subscriber, in the caller's transaction; returns the
    event's id."""
    from core.models import PipelineEvent

    event = PipelineEvent.objects.create(name=name, payload=payload or {})
    for subscription in _SUBSCRIPTIONS.values():
        if subscription.event == name and handoff_enabled(subscription.name):
            outbox_enqueue(task_name=subscription.task, args=[event.pk], queue=subscription.queue)
    for task in getattr(settings, "PLAUSI_PIPELINE_SUBSCRIBERS", {}).get(name, []):
        outbox_enqueue(task_name=task, args=[event.pk])
    for listener in _LISTENERS.values():
        listener(event_id=event.pk, name=name, payload=event.payload)
    return event.pk


def event_get(event_id: int) -> tuple[str, dict[str, Any]] | None:
    """(name, payload) of an event, for the task that handles it."""
    from core.models import PipelineEvent

    row = PipelineEvent.objects.filter(pk=event_id).values_list("name", "payload").first()
    return None if row is None else (row[0], row[1])
