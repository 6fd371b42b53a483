"""Reads for filtering: the pool as ``CandidateText`` in id-ordered chunks, pool-wide tail statistics, reports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from filtering.models import FilterConfiguration, FilterDecision, FilterRun
from filtering.types import CandidateText
from knowledge.selectors import CANDIDATE_BEHAVIOUR_FROM, CANDIDATE_BEHAVIOUR_JOINS, CANDIDATE_RELATION_JOIN

# Candidates the filters may (re)decide: not yet seen, or only filtered so far. Later stages are left alone.
FILTERABLE_STATUSES = ("ingested", "pooled", "filtered_out")

_HEAD_KEY = (
    "CASE WHEN c.pair_id IS NOT NULL THEN 'pair:' || CAST(c.pair_id AS VARCHAR(20)) "
    "ELSE 'text:' || lower(c.head_text) END"
)
_CANDIDATE_COLUMNS = f"""
    c.id, r.slug, c.tail, c.tail_normalized, {_HEAD_KEY}, c.head_kind, COALESCE(sq.text, ''),
    COALESCE(p1.title, ''), COALESCE(p2.title, ''), COALESCE(k1.name, ''), COALESCE(k2.name, ''),
    c.head_text, c.support_count
"""


def _status_placeholders() -> str:
    return ", ".join(["%s"] * len(FILTERABLE_STATUSES))


def _to_candidate_text(row: Sequence[Any]) -> CandidateText:
    (cid, relation, tail, tail_norm, head_key, head_kind, query, title1, title2, cat1, cat2, head_text, support) = row
    titles = tuple(title for title in (title1, title2) if title)
    categories = tuple(category for category in (cat1, cat2) if category)
    return CandidateText(
        id=cid,
        relation=relation,
        tail=tail,
        tail_norm=tail_norm,
        head_key=head_key,
        head_kind=head_kind,
        query=query,
        titles=titles,
        categories=categories,
        head_text=head_text,
        support=support,
    )


def filterable_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM knowledge_candidate WHERE status IN ({_status_placeholders()})",
            list(FILTERABLE_STATUSES),
        )
        return int(cursor.fetchone()[0])


def filterable_candidate_chunks(*, chunk_size: int = 20_000) -> Iterator[list[CandidateText]]:
    """Every filterable candidate with its head, ``chunk_size`` at a time: plain heads in id order, then the
    behaviour-pair heads in (pair, id) order, so that the candidates of one head arrive together (the rules cache
    what they derive from a head).

    Keyset pagination; the inner query takes the next ids from an index before any join, so each chunk costs
    the same wherever it is in the pool.
    """
    yield from _chunks(
        "c0.pair_id IS NULL AND c0.id > %s", "c0.id", lambda row: [row[0]], [0], chunk_size, pair_column=False
    )
    yield from _chunks(
        "c0.pair_id IS NOT NULL AND (c0.pair_id, c0.id) > (%s, %s)",
        "c0.pair_id, c0.id",
        lambda row: [row[-1], row[0]],
        [0, 0],
        chunk_size,
        pair_column=True,
    )


def _chunks(
    condition: str,
    order: str,
    next_key: Any,
    key: list[int],
    chunk_size: int,
    *,
    pair_column: bool,
) -> Iterator[list[CandidateText]]:
    outer_order = order.replace("c0.", "c.")
    extra = ", c.pair_id" if pair_column else ""
    sql = (
        f"SELECT {_CANDIDATE_COLUMNS}{extra} FROM ("
        f"SELECT c0.* FROM knowledge_candidate c0 WHERE c0.status IN ({_status_placeholders()}) AND {condition} "
        f"ORDER BY {order} LIMIT %s) c "
        + CANDIDATE_RELATION_JOIN
        + CANDIDATE_BEHAVIOUR_JOINS
        + f" ORDER BY {outer_order}"
    )
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*FILTERABLE_STATUSES, *key, chunk_size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield [_to_candidate_text(row[:13]) for row in rows]
        key = next_key(rows[-1])


def candidates_by_ids(ids: Sequence[int]) -> list[CandidateText]:
    """The given candidates as ``CandidateText`` (in no particular order); ids are fetched in slices."""
    result: list[CandidateText] = []
    for start in range(0, len(ids), 5000):
        part = list(ids[start : start + 5000])
        placeholders = ", ".join(["%s"] * len(part))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_CANDIDATE_COLUMNS} {CANDIDATE_BEHAVIOUR_FROM} WHERE c.id IN ({placeholders})", part
            )
            result.extend(_to_candidate_text(row) for row in cursor.fetchall())
    return result


def tail_category_head_counts(*, min_heads: int) -> Iterator[tuple[str, str, int]]:
    """(normalised tail, category, distinct heads) over the whole filterable pool, for tails with >= min_heads heads.

    The generic-tail rule needs pool-wide numbers, never per-batch ones; the database aggregates them so that
    only the few frequent tails come back to Python.
    """
    sql = f"""
        WITH per_category AS (
            SELECT c.tail_normalized AS tail, COALESCE(k1.name, '') AS category,
                   COUNT(DISTINCT {_HEAD_KEY}) AS heads
            FROM knowledge_candidate c
            {CANDIDATE_BEHAVIOUR_JOINS}
            WHERE c.status IN ({_status_placeholders()})
            GROUP BY c.tail_normalized, COALESCE(k1.name, '')
        )
        SELECT tail, category, heads FROM per_category
        WHERE tail IN (SELECT tail FROM per_category GROUP BY tail HAVING SUM(heads) >= %s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*FILTERABLE_STATUSES, min_heads])
        while rows := cursor.fetchmany(10_000):
            yield from ((tail, category, int(heads)) for tail, category, heads in rows)


def filter_configuration_list() -> QuerySet[FilterConfiguration]:
    return FilterConfiguration.objects.order_by("-version")


def filter_run_list() -> QuerySet[FilterRun]:
    return FilterRun.objects.select_related("configuration", "created_by").order_by("-created_at", "-id")


def filter_run_get(*, run_id: int) -> FilterRun | None:
    return filter_run_list().filter(pk=run_id).first()


def candidate_filter_decisions(*, candidate_id: int) -> list[FilterDecision]:
    """Why a candidate was dropped: the decisions of the latest succeeded run that dropped it.

    Every run decides the whole filterable pool, so a candidate that is not filtered out now was kept by the
    latest run and has no current reasons (its older decisions stay in the history of their runs).
    """
    from knowledge.selectors import candidate_status

    if candidate_status(candidate_id=candidate_id) != "filtered_out":
        return []
    latest_run = (
        FilterDecision.objects.filter(candidate_id=candidate_id, run__status=FilterRun.Status.SUCCEEDED)
        .order_by("-run_id")
        .values_list("run_id", flat=True)
        .first()
    )
    if latest_run is None:
        return []
    return list(
        FilterDecision.objects.filter(candidate_id=candidate_id, run_id=latest_run)
        .select_related("run")
        .order_by("rule")
    )


def filter_run_will_see(*, since: Any) -> bool:
    """Whether a filter run will read the pool as it is at ``since``: one is queued, or one started since."""
    return FilterRun.objects.filter(
        Q(status=FilterRun.Status.QUEUED) | Q(status=FilterRun.Status.RUNNING, started_at__gte=since)
    ).exists()
