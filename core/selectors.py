"""Reads of the ground floor: the outbox and the pipeline events, for the pipeline view and operators."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min

from core.models import OutboxMessage, PipelineEvent


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
