"""Reads for filtering: the pool as ``CandidateText`` in head order (one streamed read), pool-wide tail
statistics, reports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Q, QuerySet

from filtering.models import FilterConfiguration, FilterDecision, FilterRun
from filtering.types import CandidateText
from knowledge.selectors import CANDIDATE_BEHAVIOUR_FROM, CANDIDATE_BEHAVIOUR_JOINS, candidate_known_label_counts

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


READ_BATCH = 10_000  # rows fetched from the server-side cursor at a time
READ_WORK_MEM = "256MB"  # the head-order sort of a million candidates stays in memory instead of temporary files


def filterable_candidates_by_head(
    *, batch_size: int = READ_BATCH, partition: tuple[int, int] | None = None
) -> Iterator[CandidateText]:
    """Every filterable candidate with its head, in one read sorted by (``head_key``, id): the candidates of one
    head arrive together (the rules cache what they derive from a head) and in the order the similarity stage cuts
    its chunks, so one pass feeds both stages and nothing is read twice.

    PostgreSQL: a server-side cursor (``connection.chunked_cursor``), fetched ``batch_size`` rows at a time, so
    memory stays bounded; the caller may write on the same connection between fetches. ``head_key`` sorts by
    code point (``COLLATE "C"``), as Python compares strings.

    ``partition`` (k, n), PostgreSQL only: the candidates whose head hashes to k of n (``hashtext`` of the head
    key), so that n processes read disjoint parts of the pool, every head whole (filtering/partitions.py).
    """
    postgresql = connection.vendor == "postgresql"
    head_order = f'({_HEAD_KEY}) COLLATE "C"' if postgresql else _HEAD_KEY
    sql = (
        f"SELECT {_CANDIDATE_COLUMNS} {CANDIDATE_BEHAVIOUR_FROM} WHERE c.status IN ({_status_placeholders()}) "
        "{partition} "
        f"ORDER BY {head_order}, c.id"
    )
    params: list[Any] = list(FILTERABLE_STATUSES)
    if partition is not None and partition[1] > 1:
        if not postgresql:
            raise ValueError("partitions of the pool need PostgreSQL (hashtext)")
        sql = sql.replace("{partition}", f"AND mod(CAST(hashtext({_HEAD_KEY}) AS bigint) & 2147483647, %s) = %s")
        params += [partition[1], partition[0]]
    else:
        sql = sql.replace("{partition}", "")
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(f"SET work_mem = '{READ_WORK_MEM}'")  # for the sort, run at DECLARE or the first FETCH
    try:
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(batch_size):
                yield from map(_to_candidate_text, rows)
    finally:
        if postgresql:
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:  # an aborted transaction
                cursor.execute("RESET work_mem")


def tail_category_head_counts(*, min_heads: int) -> Iterator[tuple[str, str, int]]:
    """(normalised tail, category, distinct heads) over the whole filterable pool, for tails with >= min_heads heads.

    The generic-tail rule needs pool-wide numbers, never per-batch ones; the database aggregates them so that
    only the few frequent tails come back to Python. A tail has at least as many candidates as (category, head)
    pairs, so the tails with fewer than ``min_heads`` candidates are left out first, from the candidate table
    alone, and only the others are joined with their heads and categories.
    """
    statuses = _status_placeholders()
    sql = f"""
        WITH frequent AS (
            SELECT tail_normalized AS tail FROM knowledge_candidate WHERE status IN ({statuses})
            GROUP BY tail_normalized HAVING COUNT(*) >= %s
        ), per_category AS (
            SELECT c.tail_normalized AS tail, COALESCE(k1.name, '') AS category,
                   COUNT(DISTINCT {_HEAD_KEY}) AS heads
            FROM knowledge_candidate c
            JOIN frequent f ON f.tail = c.tail_normalized
            {CANDIDATE_BEHAVIOUR_JOINS}
            WHERE c.status IN ({statuses})
            GROUP BY c.tail_normalized, COALESCE(k1.name, '')
        )
        SELECT tail, category, heads FROM per_category
        WHERE tail IN (SELECT tail FROM per_category GROUP BY tail HAVING SUM(heads) >= %s)
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{READ_WORK_MEM}'")  # the grouping of a million tails in memory
        cursor.execute(sql, [*FILTERABLE_STATUSES, min_heads, *FILTERABLE_STATUSES, min_heads])
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


def labelled_outcomes(*, run_id: int) -> dict[str, Any] | None:
    """How a run's decisions fared on the candidates that carry a known ``plausible`` label (ingested with
    ``labels``): per rule, the labelled candidates it dropped and how many of them were labelled plausible (dropped
    wrongly), and the same for the labelled candidates the run kept (pooled after it). None when no candidate it
    decided carries that label. ``not_plausible_share`` is, for drops, the rules' precision (the filters exist to
    drop what is not plausible) and, for the kept, the junk that got through. ``near_duplicates``: of the labelled
    near-duplicates whose representative is labelled too (``pairs``), how many carry the representative's label
    (``same_label``, ``same_label_share``): a merge's precision. Set-based (four aggregates)."""
    labelled = Q(candidate__known_labels__has_key="plausible")
    plausible = Q(candidate__known_labels__plausible=True)
    decisions = FilterDecision.objects.filter(labelled, run_id=run_id)
    per_rule = {
        row["rule"]: _labelled_counts(row["labelled"], row["plausible"])
        for row in decisions.values("rule")
        .annotate(labelled=Count("id"), plausible=Count("id", filter=plausible))
        .order_by("rule")
    }
    # A candidate dropped by two rules counts once.
    dropped = decisions.aggregate(
        labelled=Count("candidate_id", distinct=True),
        plausible=Count("candidate_id", distinct=True, filter=plausible),
    )
    kept_labelled, kept_plausible = candidate_known_label_counts(question="plausible", status="pooled")
    kept = {"labelled": kept_labelled, "plausible": kept_plausible}
    if not dropped["labelled"] and not kept["labelled"]:
        return None
    # A near-duplicate's drop is right when it says what its representative says (its support is added there),
    # plausible or not: its precision is their agreement, not the share of it that is not plausible.
    merged = decisions.filter(
        rule="near_duplicate", candidate__duplicate_of__known_labels__has_key="plausible"
    ).aggregate(
        pairs=Count("id"),
        same_label=Count(
            "id",
            filter=Q(candidate__known_labels__plausible=F("candidate__duplicate_of__known_labels__plausible")),
        ),
    )
    return {
        "per_rule": per_rule,
        "dropped": _labelled_counts(dropped["labelled"], dropped["plausible"]),
        "kept": _labelled_counts(kept["labelled"], kept["plausible"]),
        "near_duplicates": {
            "pairs": merged["pairs"],
            "same_label": merged["same_label"],
            "same_label_share": round(merged["same_label"] / merged["pairs"], 4) if merged["pairs"] else None,
        },
    }


def labelled_outcome_rows(labelled: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``labelled_outcomes``' counts as named rows, in the order the report and the run's page show them."""
    rows = [("dropped (any rule)", labelled["dropped"]), ("kept", labelled["kept"])]
    return rows + [(f"rule {rule}", counts) for rule, counts in labelled["per_rule"].items()]


def _labelled_counts(labelled: int, plausible: int) -> dict[str, Any]:
    return {
        "labelled": labelled,
        "plausible": plausible,
        "not_plausible_share": round((labelled - plausible) / labelled, 4) if labelled else None,
    }
