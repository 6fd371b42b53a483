"""Reads of the ground floor: the outbox and the pipeline events, for the pipeline view and operators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from core.models import OutboxMessage, PipelineEvent, TaskOutcome
from core.runs import run_kinds


def outbox_pending_by_task() -> dict[str, dict[str, Any]]:
    """Messages not yet published to the broker, per task: how many and since when (a broker outage shows here)."""
    rows = (
        OutboxMessage.objects.filter(sent_at__isnull=True)
        .values("task")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    return {row["task"]: {"count": row["count"], "oldest": row["oldest"]} for row in rows}


def event_list(*, after_id: int = 0, name: str = "", limit: int = 100) -> list[PipelineEvent]:
    """Events in id order after a cursor (a consumer reads on from the last id it handled)."""
    events = PipelineEvent.objects.filter(pk__gt=after_id).order_by("id")
    if name:
        events = events.filter(name=name)
    return list(events[:limit])


# --- for monitoring (``/metrics``, pipeline/metrics.py): each a few cheap statements at any pool size ---------

OUTBOX_BACKLOG_COUNTED_UP_TO = 100_000


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int  # counted up to OUTBOX_BACKLOG_COUNTED_UP_TO
    oldest_age_seconds: float  # 0 when nothing is pending


def outbox_backlog(*, now: dt.datetime | None = None) -> OutboxBacklog:
    """Messages not yet published and the age of the oldest: both read from the pending messages' partial index
    (the oldest is the lowest id), so a table of millions of sent messages costs nothing."""
    now = now or timezone.now()
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    count = pending.order_by()[:OUTBOX_BACKLOG_COUNTED_UP_TO].count()
    oldest = pending.order_by("id").values_list("created_at", flat=True).first()
    return OutboxBacklog(pending=count, oldest_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def run_counts_by_state() -> dict[tuple[str, str], int]:
    """Runs per (kind, state) for every registered kind of run, every state present (absent states are 0), in one
    statement: run tables hold one row per job, not per candidate."""
    kinds = sorted(run_kinds().values(), key=lambda kind: kind.name)
    counts = {(kind.name, state): 0 for kind in kinds for state in ("queued", "running", "succeeded", "failed")}
    if not kinds:
        return counts
    quote = connection.ops.quote_name
    statement = " UNION ALL ".join(
        f"SELECT {position}, status, count(*) FROM {quote(kind.model._meta.db_table)} GROUP BY status"  # noqa: S608
        for position, kind in enumerate(kinds)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement)
        for position, state, count in cursor.fetchall():
            counts[(kinds[int(position)].name, state)] = int(count)
    return counts


def task_outcome_counts() -> list[tuple[str, str, int, float]]:
    """Celery task outcomes as counted by the workers (core/task_outcomes.py): (task, outcome, count, seconds)."""
    return [
        (task, outcome, int(count), float(seconds))
        for task, outcome, count, seconds in TaskOutcome.objects.order_by("task", "outcome").values_list(
            "task", "outcome", "count", "seconds"
        )
    ]
