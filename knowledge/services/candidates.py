"""Candidates' lifecycle changes, in bulk. The only code that writes a candidate's status.

Every change is one set-based statement that refuses transitions the lifecycle (``knowledge.lifecycle``) does
not allow: a candidate whose current status may not precede the target is left as it is (and not counted), so
concurrent callers can never push a candidate through a forbidden transition. Other apps say which candidates
move as an id list, a queryset (of candidates, or of rows whose ``candidate_id`` names them) or a SQL subquery
of their own (``CandidateIdsSql``); an app whose hot path must move a candidate inside its own single statement
(annotation's claim and consolidation) composes the SQL that ``candidate_status_update_sql`` writes for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.bulk import rows_copy, rows_set_column
from core.errors import ApplicationError
from core.statistics import tables_analyze_after_change
from knowledge import lifecycle
from knowledge.models import Candidate


@dataclass(frozen=True)
class CandidateIdsSql:
    """A subquery that selects candidate ids (``SELECT c.id FROM ...``) with its parameters: for a transition
    whose selection is another app's set-based SQL (the classifiers' thresholds over their scores)."""

    sql: str
    params: Sequence[Any] = ()


CandidateSelection = Iterable[int] | QuerySet[Any] | CandidateIdsSql


def _checked(from_statuses: Iterable[str] | None, to_status: str) -> tuple[str, ...]:
    if to_status not in lifecycle.ALLOWED_TRANSITIONS:
        raise ApplicationError(f"Unknown candidate status {to_status!r}.")
    allowed = lifecycle.predecessors(to_status)
    sources = tuple(sorted(allowed if from_statuses is None else set(from_statuses)))
    forbidden = [status for status in sources if status not in allowed]
    if forbidden:
        raise ApplicationError(
            f"The lifecycle does not allow {', '.join(forbidden)} -> {to_status} "
            f"(only {', '.join(sorted(allowed))} -> {to_status})."
        )
    return sources


def candidate_status_transition(
    *, candidates: CandidateSelection, to_status: str, from_statuses: Iterable[str] | None = None
) -> int:
    """Move the selected candidates to ``to_status``, in one UPDATE; returns how many moved.

    ``from_statuses`` narrows the statuses that may move (each must be allowed by the lifecycle; by default every
    status the lifecycle allows before ``to_status``). Candidates in any other status are left as they are.
    """
    sources = _checked(from_statuses, to_status)
    now = timezone.now()
    if isinstance(candidates, CandidateIdsSql):
        marks = ", ".join(["%s"] * len(sources))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE knowledge_candidate SET status = %s, updated_at = %s WHERE status IN ({marks}) "
                f"AND id IN ({candidates.sql})",
                [to_status, connection.ops.adapt_datetimefield_value(now), *sources, *candidates.params],
            )
            return int(cursor.rowcount)
    if isinstance(candidates, QuerySet):
        if candidates.model is Candidate:
            queryset = candidates
        else:  # rows of another app that name candidates: a subquery of their candidate_id
            queryset = Candidate.objects.filter(pk__in=candidates.values("candidate_id"))
    else:
        ids = list(candidates)
        if not ids:
            return 0
        queryset = Candidate.objects.filter(pk__in=ids)
    return queryset.filter(status__in=sources).update(status=to_status, updated_at=now)


def candidate_status_update_sql(
    *, from_statuses: Sequence[str], to_status: str, where: str, alias: str = "", using: str = ""
) -> str:
    """The same transition as SQL text, for an app that must move candidates inside a statement of its own (a
    data-modifying CTE of a one-statement hot path). ``where`` selects the rows (``alias`` names the candidate
    table there, ``using`` adds a FROM list); the first parameter is the update time, then ``where``'s.
    Statuses are the lifecycle's constants, checked here, never input."""
    sources = ", ".join(f"'{status}'" for status in _checked(from_statuses, to_status))
    table = f"knowledge_candidate {alias}" if alias else "knowledge_candidate"
    column = f"{alias}.status" if alias else "status"
    source = f" FROM {using}" if using else ""
    return (
        f"UPDATE {table} SET status = '{to_status}', updated_at = %s{source} WHERE {where} AND {column} IN ({sources})"
    )


def candidate_filter_outcomes_apply(
    *,
    run_id: int,
    dropped: Mapping[int, int | None],
    merged: Mapping[int, int],
    filterable_statuses: Sequence[str],
) -> tuple[int, int]:
    """Apply a filter run's verdicts to the filterable pool, in one transaction, set-based; returns (moved to
    pooled, moved to filtered out).

    ``dropped`` maps each dropped candidate to the representative it is a near-duplicate of (or None);
    ``merged`` is the support that each kept representative gathered from its duplicates (set, never added).
    Earlier runs' near-duplicate marks in the filterable pool are forgotten first; then dropped candidates leave
    the pool, and every other filterable candidate is in it. Only candidates still in a filterable status move,
    so one that annotation took meanwhile is left alone.
    """
    table = f"filtering_outcome_{int(run_id)}"
    placeholders = ", ".join(["%s"] * len(filterable_statuses))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    to_filtered_out = candidate_status_update_sql(
        from_statuses=("ingested", "pooled"),
        to_status=lifecycle.FILTERED_OUT,
        where=f"id IN (SELECT candidate_id FROM {table} WHERE dropped)",
    )
    to_pooled = candidate_status_update_sql(
        from_statuses=("ingested", "filtered_out"),
        to_status=lifecycle.POOLED,
        where=f"NOT EXISTS (SELECT 1 FROM {table} o WHERE o.candidate_id = knowledge_candidate.id AND o.dropped)",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        temporary = "TEMPORARY " if connection.vendor == "postgresql" else "TEMP "
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE {temporary}TABLE {table} (candidate_id bigint PRIMARY KEY, dropped boolean, "
            "duplicate_of bigint, merged_support bigint)"
        )
        columns = ("candidate_id", "dropped", "duplicate_of", "merged_support")
        rows_copy(table=table, columns=columns, rows=((cid, True, of, 0) for cid, of in dropped.items()))
        rows_copy(table=table, columns=columns, rows=((cid, False, None, n) for cid, n in merged.items()))
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
        # 1. forget what earlier runs said about duplicates in the filterable pool (set, never added)
        cursor.execute(
            f"UPDATE knowledge_candidate SET merged_support = 0, duplicate_of_id = NULL "
            f"WHERE status IN ({placeholders}) AND (merged_support <> 0 OR duplicate_of_id IS NOT NULL)",
            list(filterable_statuses),
        )
        # 2. dropped candidates: out of the pool, near-duplicates pointing at their representative
        cursor.execute(to_filtered_out, [now])
        moved_to_filtered_out = cursor.rowcount
        cursor.execute(
            f"UPDATE knowledge_candidate SET duplicate_of_id = "
            f"(SELECT o.duplicate_of FROM {table} o WHERE o.candidate_id = knowledge_candidate.id) "
            f"WHERE id IN (SELECT candidate_id FROM {table} WHERE duplicate_of IS NOT NULL)"
        )
        cursor.execute(
            f"UPDATE knowledge_candidate SET merged_support = "
            f"(SELECT o.merged_support FROM {table} o WHERE o.candidate_id = knowledge_candidate.id) "
            f"WHERE id IN (SELECT candidate_id FROM {table} WHERE merged_support > 0)"
        )
        # 3. everything else that is filterable is in the pool
        cursor.execute(to_pooled, [now])
        moved_to_pooled = cursor.rowcount
        cursor.execute(f"DROP TABLE {table}")
    # A filter run moves much of the pool at once: statistics that see it, after the commit (issue 22).
    tables_analyze_after_change(changed={"knowledge_candidate": moved_to_pooled + moved_to_filtered_out})
    return moved_to_pooled, moved_to_filtered_out


def search_query_specificity_set(*, rows: Iterable[tuple[int, float]]) -> int:
    """Store queries' specificity (annotation's sampling computes it), set-based: (query id, specificity)."""
    return rows_set_column(
        table="knowledge_searchquery", key="id", column="specificity", sql_type="double precision", rows=rows
    )
