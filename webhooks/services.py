"""Webhook writes: endpoints, the fan-out of an event into deliveries, attempts with retries, replays and tests.

Delivery is at least once. ``deliveries_fan_out`` runs inside ``event_emit`` (the event's own transaction) and
writes one delivery per subscribed endpoint plus one outbox message that sends them after commit. A delivery is
sent by whoever claims it first: that message's task, or the beat sweep (``deliveries_sweep``), which picks due
deliveries with ``SELECT ... FOR UPDATE SKIP LOCKED``. Claiming moves ``next_attempt_at`` a lease ahead and counts
the attempt in one short transaction; the HTTP request runs outside any transaction; its outcome is written only
if the delivery is still at that attempt. A worker that dies mid-attempt leaves the delivery due again when the
lease ends, so a receiver may see a message twice (same ``webhook-id``), never zero times.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.errors import ApplicationError, Conflict, NotFound
from core.outbox import outbox_enqueue
from webhooks import protocol, sender
from webhooks.events import EVENT_TYPES, TEST_EVENT_TYPE
from webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SEND_TASK = "webhooks.deliveries_send"
OPEN = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED)


def _conf(name: str) -> Any:
    return settings.PLAUSI_WEBHOOKS[name]


def _message(event_type: str, data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """The body (Standard Webhooks' recommended shape): the type, when the event happened, its data."""
    return {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}


def _new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# --- endpoints --------------------------------------------------------------------------------------------------


def event_types_check(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise ApplicationError(f"Unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}.")
    return sorted(set(event_types))


def webhook_endpoint_create(
    *, url: str, event_types: list[str], description: str = "", is_active: bool = True, actor: Any = None
) -> WebhookEndpoint:
    """Register an endpoint (with a new secret). Raises ``ApplicationError`` for a refused URL or event type."""
    problem = protocol.url_problem(url)
    if problem:
        raise ApplicationError(problem)
    return WebhookEndpoint.objects.create(
        url=url,
        event_types=event_types_check(event_types),
        description=description,
        is_active=is_active,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def webhook_endpoint_rotate_secret(*, endpoint_id: int) -> str:
    """A new secret for an endpoint; every later attempt (retries included) is signed with it."""
    secret = protocol.secret_generate()
    if not WebhookEndpoint.objects.filter(pk=endpoint_id).update(secret=secret):
        raise NotFound("No such webhook endpoint.")
    return secret


# --- fan-out ----------------------------------------------------------------------------------------------------


def deliveries_fan_out(*, event_id: int, name: str, payload: dict[str, Any]) -> list[int]:
    """One delivery per active endpoint subscribed to ``name`` (a public event type only), in the caller's
    transaction, and one outbox message to send them; returns the new deliveries' ids. One read of the (few)
    endpoints and one bulk insert: it runs on every event's commit path."""
    if name not in EVENT_TYPES:
        return []
    endpoint_ids = [
        pk
        for pk, types in WebhookEndpoint.objects.filter(is_active=True).values_list("pk", "event_types")
        if not types or name in types
    ]
    if not endpoint_ids:
        return []
    now = timezone.now()
    message_id = _new_message_id()
    body = _message(name, payload, now)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=pk, event_id=event_id, event_type=name, message_id=message_id, payload=body, next_attempt_at=now
        )
        for pk in endpoint_ids
    )
    ids = [delivery.pk for delivery in deliveries]
    outbox_enqueue(task_name=SEND_TASK, args=[ids])
    return ids


def _enqueue_one(
    *, endpoint: WebhookEndpoint, event_type: str, message_id: str, body: dict[str, Any], **extra: Any
) -> WebhookDelivery:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type=event_type,
            message_id=message_id,
            payload=body,
            next_attempt_at=timezone.now(),
            **extra,
        )
        outbox_enqueue(task_name=SEND_TASK, args=[[delivery.pk]])
    return delivery


def webhook_test_send(*, endpoint_id: int, actor: Any = None) -> WebhookDelivery:
    """Queue a ``webhook.test`` message to one endpoint (active or not: testing comes before activating)."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    by = getattr(actor, "username", "") if getattr(actor, "is_authenticated", False) else ""
    data = {"endpoint": endpoint.pk, "requested_by": by, "note": "A test message from Plausi."}
    body = _message(TEST_EVENT_TYPE, data, timezone.now())
    return _enqueue_one(endpoint=endpoint, event_type=TEST_EVENT_TYPE, message_id=_new_message_id(), body=body)


def delivery_replay(*, delivery_id: int) -> WebhookDelivery:
    """Send a finished delivery again, as a new delivery (a new log line, ``replay_of`` the original) with the
    same body and the same ``webhook-id``: a receiver that deduplicates by id treats it as the message it may
    already have. A delivery still being retried cannot be replayed (it is on its way)."""
    original = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if original is None:
        raise NotFound("No such webhook delivery.")
    if original.status in OPEN:
        raise Conflict(f"Delivery {original.pk} is {original.status}: it is still being delivered.")
    return _enqueue_one(
        endpoint=original.endpoint,
        event_type=original.event_type,
        message_id=original.message_id,
        body=original.payload,
        event_id=original.event_id,
        replay_of=original,
    )


# --- attempts ---------------------------------------------------------------------------------------------------


def deliveries_claim(*, ids: list[int] | None = None, limit: int = 50) -> list[WebhookDelivery]:
    """Take due deliveries (of active endpoints; a test goes to any) for one attempt each: lock them with
    ``FOR UPDATE SKIP LOCKED`` (a delivery another worker is claiming is skipped, not waited for), count the
    attempt and move ``next_attempt_at`` a lease (``CLAIM_SECONDS``) ahead, then commit. Returns them with their
    endpoints."""
    now = timezone.now()
    with transaction.atomic():
        due = WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            Q(endpoint__is_active=True) | Q(event_type=TEST_EVENT_TYPE), status__in=OPEN, next_attempt_at__lte=now
        )
        if ids is not None:
            due = due.filter(pk__in=ids)
        claimed = list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
        if not claimed:
            return []
        WebhookDelivery.objects.filter(pk__in=claimed).update(
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=now + dt.timedelta(seconds=float(_conf("CLAIM_SECONDS"))),
        )
    return list(WebhookDelivery.objects.select_related("endpoint").filter(pk__in=claimed).order_by("id"))


def _attempt(delivery: WebhookDelivery) -> sender.Attempt:
    """One signed POST (no database: it runs in a thread)."""
    body = protocol.body_bytes(delivery.payload)
    headers = protocol.signed_headers(
        secret=delivery.endpoint.secret, message_id=delivery.message_id, timestamp=int(time.time()), body=body
    )
    return sender.post(url=delivery.endpoint.url, body=body, headers=headers, timeout=float(_conf("TIMEOUT_SECONDS")))


def delivery_record(*, delivery: WebhookDelivery, attempt: sender.Attempt) -> str | None:
    """Write an attempt's outcome, if the delivery is still at this attempt (a claimant that outlived its lease
    was overtaken and writes nothing). Returns the new status, or None when nothing was written."""
    now = timezone.now()
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts, status__in=OPEN)
    outcome: dict[str, Any] = {
        "last_status_code": attempt.status_code,
        "last_error": attempt.error[:500],
        "last_response": attempt.snippet[:500],
    }
    if attempt.delivered:
        status = WebhookDelivery.Status.SUCCEEDED
        outcome |= {"delivered_at": now, "next_attempt_at": None}
    else:
        delay = protocol.retry_delay(
            attempts=delivery.attempts, schedule=_conf("RETRY_SCHEDULE"), jitter=float(_conf("RETRY_JITTER"))
        )
        too_old = (now - delivery.created_at).total_seconds() > float(_conf("MAX_AGE_SECONDS"))
        if delay is None or too_old:
            status = WebhookDelivery.Status.DEAD
            outcome["next_attempt_at"] = None
        else:
            status = WebhookDelivery.Status.FAILED
            outcome["next_attempt_at"] = now + dt.timedelta(seconds=delay)
    return status if mine.update(status=status, **outcome) else None


def deliveries_send(*, ids: list[int] | None = None, limit: int = 50) -> dict[str, int]:
    """Claim due deliveries (these, or any) and attempt them, up to ``CONCURRENCY`` requests at once; returns the
    count per resulting status."""
    claimed = deliveries_claim(ids=ids, limit=limit)
    if not claimed:
        return {}
    workers = max(1, min(int(_conf("CONCURRENCY")), len(claimed)))
    if workers == 1:
        attempts = [_attempt(delivery) for delivery in claimed]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
            attempts = list(pool.map(_attempt, claimed))
    counts: dict[str, int] = {}
    for delivery, attempt in zip(claimed, attempts, strict=True):
        status = delivery_record(delivery=delivery, attempt=attempt)
        if status is not None:
            counts[status] = counts.get(status, 0) + 1
        if status == WebhookDelivery.Status.DEAD:
            logger.warning("webhook delivery %s to %s is dead: %s", delivery.pk, delivery.endpoint.url, attempt.error)
    return counts


def deliveries_sweep(*, budget_seconds: float = 60.0) -> dict[str, int]:
    """Send every due delivery (beat): batches of ``SWEEP_BATCH`` until none is due or the budget is spent."""
    started = time.monotonic()
    total: dict[str, int] = {}
    while time.monotonic() - started < budget_seconds:
        counts = deliveries_send(limit=int(_conf("SWEEP_BATCH")))
        if not counts:
            break
        for status, count in counts.items():
            total[status] = total.get(status, 0) + count
    return total
