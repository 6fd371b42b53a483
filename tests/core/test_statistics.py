"""Planner statistics after the application's own large changes (issue 22): an ingest, a filter run's moves, a
queue fill and a priorities recompute analyze the tables they changed, with no autovacuum and no operator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from annotation.priorities import queue_priorities_recompute
from annotation.services import queue_fill
from core import statistics
from core.statistics import tables_analyze_after_change
from knowledge.models import Candidate
from tests.conftest import search_buy

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROWS = 1_500  # over ANALYZE_MIN_ROWS, and more than 10% of the empty tables a test starts with


def _reltuples(table: str) -> float:
    """What the planner believes the table holds (pg_class.reltuples; -1 or 0 before any ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s AND pg_table_is_visible(oid)", [table])
        return float(cursor.fetchone()[0])


def _autovacuum_off(table: str) -> None:
    """No autovacuum on this table, whatever the server's setting: only the application can analyze it."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")


def _reset_statistics(table: str) -> None:
    """The planner's count back to 'never analyzed' (an earlier test may have left a fresh one)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")


def _pool(write_lines: Callable[..., Any], ingest: Callable[..., Any]) -> None:
    path = write_lines([search_buy(tail=f"keeps feet warm {number}") for number in range(ROWS)])
    run = ingest(path)
    assert run.candidates_created == ROWS


def test_an_ingest_leaves_statistics_that_count_its_rows(
    write_lines: Callable[..., Any], ingest: Callable[..., Any]
) -> None:
    _reset_statistics("knowledge_candidate")
    _autovacuum_off("knowledge_candidate")
    assert _reltuples("knowledge_candidate") <= 0
    _pool(write_lines, ingest)
    assert _reltuples("knowledge_candidate") == pytest.approx(ROWS, rel=0.05)


def test_a_queue_fill_and_its_priorities_leave_statistics_that_count_the_queue(
    write_lines: Callable[..., Any], ingest: Callable[..., Any]
) -> None:
    _reset_statistics("annotation_queueitem")
    _autovacuum_off("annotation_queueitem")
    _pool(write_lines, ingest)
    moved = Candidate.objects.filter(status="ingested").update(status="pooled")  # the filter's moves, abridged
    tables_analyze_after_change(changed={"knowledge_candidate": moved})
    assert _reltuples("annotation_queueitem") <= 0
    assert queue_fill() == ROWS
    assert _reltuples("annotation_queueitem") == pytest.approx(ROWS, rel=0.05)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text FROM pg_stats WHERE tablename = %s AND attname = 'priority'",
            ["annotation_queueitem"],
        )
        assert cursor.fetchone()[0] == "{0}"  # the queue fill's priorities: all 0
    assert queue_priorities_recompute() == ROWS
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text FROM pg_stats WHERE tablename = %s AND attname = 'priority'",
            ["annotation_queueitem"],
        )
        assert cursor.fetchone()[0] != "{0}"  # the planner sees the recomputed priorities


def test_a_small_change_is_not_analyzed(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    analyzed: list[dict[str, int]] = []

    def spy(changed: dict[str, int]) -> list[str]:
        analyzed.append(dict(changed))
        return []

    monkeypatch.setattr(statistics, "_analyze_large", spy)
    tables_analyze_after_change(changed={"knowledge_candidate": statistics.ANALYZE_MIN_ROWS - 1})
    assert analyzed == []
    tables_analyze_after_change(changed={"knowledge_candidate": statistics.ANALYZE_MIN_ROWS, "knowledge_product": 3})
    assert analyzed == [{"knowledge_candidate": statistics.ANALYZE_MIN_ROWS}]


def test_a_change_that_is_small_against_the_table_is_not_analyzed(
    write_lines: Callable[..., Any], ingest: Callable[..., Any]
) -> None:
    _pool(write_lines, ingest)
    before = _reltuples("knowledge_candidate")
    assert before == pytest.approx(ROWS, rel=0.05)
    # 1,000 rows against a table the planner counts at 1,500 is large; against 20,000 it would not be.
    assert statistics._analyze_large({"knowledge_candidate": statistics.ANALYZE_MIN_ROWS}) == ["knowledge_candidate"]
    assert statistics._analyze_large({"knowledge_candidate": int(0.1 * ROWS) - 1}) == []


def test_inside_a_transaction_the_analyze_waits_for_the_commit(
    write_lines: Callable[..., Any], ingest: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import transaction

    analyzed: list[dict[str, int]] = []

    def spy(changed: dict[str, int]) -> list[str]:
        analyzed.append(dict(changed))
        return []

    monkeypatch.setattr(statistics, "_analyze_large", spy)
    with transaction.atomic():
        tables_analyze_after_change(changed={"annotation_queueitem": 5_000})
        assert analyzed == []
    assert analyzed == [{"annotation_queueitem": 5_000}]
