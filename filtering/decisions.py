"""Writing drop decisions in bulk: the one place that knows a ``FilterDecision`` row's shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from core.bulk import rows_copy
from filtering.models import FilterDecision
from filtering.types import Verdict

REASON_MAX_CHARS = 2000


def decision_rows(run_id: int, candidate_id: int, verdicts: Iterable[Verdict]) -> list[tuple[Any, ...]]:
    return [(run_id, candidate_id, v.rule, float(v.score), v.reason[:REASON_MAX_CHARS]) for v in verdicts]


def decisions_write(rows: list[tuple[Any, ...]]) -> None:
    """Append decision rows (COPY on PostgreSQL) in their own transaction, so a run's progress is visible."""
    if rows:
        with transaction.atomic():
            rows_copy(
                table=FilterDecision._meta.db_table,
                columns=("run_id", "candidate_id", "rule", "score", "reason"),
                rows=rows,
            )
