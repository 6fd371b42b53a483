"""Staging tables and the set-based merge into the knowledge tables, for PostgreSQL and SQLite.

Reading validates lines into a per-run staging table (COPY on PostgreSQL, executemany on SQLite), committing
as it goes so progress is visible; the merge then runs as set-based INSERT ... SELECT ... ON CONFLICT
statements inside one transaction, so an ingest lands whole or not at all. A per-run table (rather than a
shared one) is dropped in constant time and never contends with another run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from core.foreign_keys import foreign_keys_checked_in_bulk
from knowledge.ingest.parsing import STAGING_COLUMNS

_COLUMN_TYPES = {
    "line_no": "bigint",
    "file_no": "integer",
    "pair_count": "bigint",
    "relation_id": "bigint",
    "support": "bigint",
}
STAGING_PREFIX = "knowledge_ingest_staging_"
MERGE_WORK_MEM = "192MB"
#: The candidate's keys a first import checks in one join each (core/foreign_keys.py). The ingest run has no database
#: key (migration 0016): dropping one for the load would lock the run's table, which its heartbeat and the runs
#: pages read while the merge runs.
CANDIDATE_KEYS_CHECKED_IN_BULK = ("pair_id", "relation_id")
# Plain indexes a first import builds after its INSERT instead of maintaining row by row (core/foreign_keys.py).
CANDIDATE_INDEXES_REBUILT_IN_BULK = ("pair_id", "relation_id", "ingest_run_id")


def staging_table_name(run_id: int) -> str:
    return f"{STAGING_PREFIX}{int(run_id)}"


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def staging_create(run_id: int) -> str:
    table = staging_table_name(run_id)
    columns = ", ".join(f"{name} {_COLUMN_TYPES.get(name, 'text')}" for name in STAGING_COLUMNS)
    unlogged = "UNLOGGED " if _is_postgres() else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE {unlogged}TABLE {table} ({columns})")
    return table


def staging_drop(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {staging_table_name(run_id)}")


def staging_tables() -> list[str]:
    """Names of every staging table present (left behind by a crash when its run is no longer running)."""
    return [name for name in connection.introspection.table_names() if name.startswith(STAGING_PREFIX)]


class StagingWriter:
    """Appends validated rows to a run's staging table in batches; the caller commits between batches."""

    def __init__(self, run_id: int) -> None:
        self.table = staging_table_name(run_id)
        self._columns = ", ".join(STAGING_COLUMNS)

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if _is_postgres():
                raw_cursor = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw_cursor.copy(f"COPY {self.table} ({self._columns}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(STAGING_COLUMNS))
                cursor.executemany(f"INSERT INTO {self.table} ({self._columns}) VALUES ({placeholders})", rows)


@dataclass
class MergeCounts:
    categories_created: int = 0
    products_created: int = 0
    queries_created: int = 0
    pairs_created: int = 0
    candidates_created: int = 0
    candidates_merged: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")
    return int(cursor.fetchone()[0])


def _execute_counting_inserts(
    cursor: Any, sql: str, params: Iterable[Any], target: str, seconds: dict[str, float] | None = None
) -> tuple[int, int | None]:
    """Run an upsert; return (rows inserted, rows inserted or updated: None where unknown).

    PostgreSQL tells inserted from updated rows by ``xmax = 0`` in RETURNING; SQLite has a single writer, so
    counting the target before and after is exact there.
    """
    started = time.perf_counter()
    try:
        return _run_counting(cursor, sql, params, target)
    finally:
        if seconds is not None:
            seconds[target.removeprefix("knowledge_")] = round(time.perf_counter() - started, 3)


def _run_counting(cursor: Any, sql: str, params: Iterable[Any], target: str) -> tuple[int, int | None]:
    """(rows inserted, rows inserted or updated); the second is known on PostgreSQL only."""
    if _is_postgres():
        cursor.execute(
            f"WITH changed AS ({sql} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FROM changed",
            list(params),
        )
        inserted, changed = cursor.fetchone()
        return int(inserted), int(changed)
    before = _count(cursor, target)
    cursor.execute(sql, list(params))
    return _count(cursor, target) - before, None


def staging_merge(*, run_id: int, now: dt.datetime, staged_rows: int | None = None) -> MergeCounts:
    """Merge a run's staging rows into categories, products, queries, pairs and candidates.

    Must run inside a transaction (the caller's ``transaction.atomic``). Products take the latest non-empty
    title, category and attributes; pairs keep their largest observation count; candidates that already exist
    add the new support to theirs and merge known labels (the new answer wins per question). ``staged_rows``: how
    many rows the reading staged (counted here when not given).
    """
    staging = staging_table_name(run_id)
    postgres = _is_postgres()
    timestamp = connection.ops.adapt_datetimefield_value(now)
    jsonb = "::jsonb" if postgres else ""
    counts = MergeCounts()
    with connection.cursor() as cursor:
        if postgres:
            # Sorts and hashes over a million staged rows fit in memory instead of spilling to disk, and the
            # planner gets real statistics for the freshly filled staging table.
            cursor.execute(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'")
            cursor.execute(f"ANALYZE {staging}")
        counts.categories_created, _ = _execute_counting_inserts(
            cursor,
            f"""
            INSERT INTO knowledge_category (name, created_at)
            SELECT name, %s FROM (
                SELECT p1_cat AS name FROM {staging} WHERE p1_cat <> ''
                UNION SELECT p2_cat FROM {staging} WHERE p2_cat <> ''
            ) names WHERE true
            ON CONFLICT (name) DO NOTHING""",
            [timestamp],
            "knowledge_category",
            counts.seconds,
        )
        counts.products_created, _ = _execute_counting_inserts(
            cursor,
            f"""
            INSERT INTO knowledge_product (external_id, title, category_id, attributes, created_at, updated_at)
            SELECT latest.external_id, latest.title, category.id, COALESCE(latest.attrs, '{{}}'){jsonb}, %s, %s
            FROM (
                SELECT external_id,
                       FIRST_VALUE(title) OVER (PARTITION BY external_id
                                                ORDER BY (title <> '') DESC, position DESC) AS title,
                       FIRST_VALUE(category_name) OVER (PARTITION BY external_id
                                                        ORDER BY (category_name <> '') DESC, position DESC)
                           AS category_name,
                       FIRST_VALUE(attrs) OVER (PARTITION BY external_id
                                                ORDER BY (attrs IS NOT NULL) DESC, position DESC) AS attrs,
                       ROW_NUMBER() OVER (PARTITION BY external_id ORDER BY position) AS rank
                FROM (
                    -- identical mentions collapse first, so the windows sort few rows
                    SELECT external_id, title, category_name, attrs, MAX(position) AS position
                    FROM (
                        SELECT p1_id AS external_id, p1_title AS title, p1_cat AS category_name,
                               p1_attrs AS attrs, file_no * 10000000000 + line_no AS position
                        FROM {staging} WHERE p1_id IS NOT NULL
                        UNION ALL
                        SELECT p2_id, p2_title, p2_cat, p2_attrs, file_no * 10000000000 + line_no
                        FROM {staging} WHERE p2_id IS NOT NULL
                    ) mentions
                    GROUP BY external_id, title, category_name, attrs
                ) distinct_mentions
            ) latest
            LEFT JOIN knowledge_category category ON category.name = latest.category_name
            WHERE latest.rank = 1
            ON CONFLICT (external_id) DO UPDATE SET
                title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE knowledge_product.title END,
                category_id = COALESCE(excluded.category_id, knowledge_product.category_id),
                attributes = CASE WHEN excluded.attributes <> '{{}}'{jsonb} THEN excluded.attributes
                                  ELSE knowledge_product.attributes END,
                updated_at = excluded.updated_at
            WHERE (excluded.title <> '' AND excluded.title <> knowledge_product.title)
               OR (excluded.category_id IS NOT NULL
                   AND (knowledge_product.category_id IS NULL
                        OR excluded.category_id <> knowledge_product.category_id))
               OR (excluded.attributes <> '{{}}'{jsonb} AND excluded.attributes <> knowledge_product.attributes)
            """,
            [timestamp, timestamp],
            "knowledge_product",
            counts.seconds,
        )
        counts.queries_created, _ = _execute_counting_inserts(
            cursor,
            f"""
            INSERT INTO knowledge_searchquery (text, normalized_text, created_at)
            SELECT query_text, query_norm, %s FROM (
                SELECT query_text, query_norm,
                       ROW_NUMBER() OVER (PARTITION BY query_norm ORDER BY file_no, line_no) AS rank
                FROM {staging} WHERE query_norm IS NOT NULL
            ) ranked WHERE rank = 1
            ON CONFLICT (normalized_text) DO NOTHING""",
            [timestamp],
            "knowledge_searchquery",
            counts.seconds,
        )
        counts.pairs_created, _ = _execute_counting_inserts(
            cursor,
            f"""
            INSERT INTO knowledge_behaviourpair
                (key, kind, query_id, product_id, other_product_id, observation_count, created_at, updated_at)
            SELECT pairs.pair_key, pairs.kind, query.id, product.id, other.id, pairs.observation_count, %s, %s
            FROM (
                SELECT pair_key, MIN(kind) AS kind, MIN(query_norm) AS query_norm, MIN(p1_id) AS p1_id,
                       MIN(p2_id) AS p2_id, MAX(pair_count) AS observation_count
                FROM {staging} WHERE pair_key IS NOT NULL GROUP BY pair_key
            ) pairs
            JOIN knowledge_product product ON product.external_id = pairs.p1_id
            LEFT JOIN knowledge_product other ON other.external_id = pairs.p2_id
            LEFT JOIN knowledge_searchquery query ON query.normalized_text = pairs.query_norm
            WHERE true
            ON CONFLICT (key) DO UPDATE SET
                observation_count = excluded.observation_count, updated_at = excluded.updated_at
            WHERE excluded.observation_count > knowledge_behaviourpair.observation_count""",
            [timestamp, timestamp],
            "knowledge_behaviourpair",
            counts.seconds,
        )
        labels_merge = (
            "COALESCE(knowledge_candidate.known_labels, '{}'::jsonb) || excluded.known_labels"
            if postgres
            else "json_patch(COALESCE(knowledge_candidate.known_labels, '{}'), excluded.known_labels)"
        )
        # A first import (the candidates at least double) checks its foreign keys in one join each instead of a
        # trigger query per row at commit (core/foreign_keys.py).
        bulk_keys = foreign_keys_checked_in_bulk(
            table="knowledge_candidate",
            columns=CANDIDATE_KEYS_CHECKED_IN_BULK,
            rebuilt_indexes=CANDIDATE_INDEXES_REBUILT_IN_BULK,
            rows_coming=(staged_rows if staged_rows is not None else _count(cursor, staging)) if postgres else 0,
        )
        with bulk_keys as checked_in_bulk:
            inserted, changed = _execute_counting_inserts(
                cursor,
                f"""
                INSERT INTO knowledge_candidate
                    (dedup_key, head_kind, pair_id, head_text, relation_id, tail, tail_normalized, generator,
                     prompt_id, support_count, known_labels, status, ingest_run_id, created_at, updated_at)
                SELECT ranked.dedup_key, ranked.kind, pair.id, ranked.head_text, ranked.relation_id, ranked.tail,
                       ranked.tail_norm, ranked.generator, ranked.prompt_id, ranked.total_support,
                       COALESCE(ranked.labels, '{{}}'){jsonb}, 'ingested', %s, %s, %s
                FROM (
                    SELECT dedup_key, kind, pair_key, head_text, relation_id, tail, tail_norm, generator, prompt_id,
                           labels,
                           ROW_NUMBER() OVER (PARTITION BY dedup_key ORDER BY file_no, line_no) AS rank,
                           SUM(support) OVER (PARTITION BY dedup_key) AS total_support
                    FROM {staging}
                ) ranked
                LEFT JOIN knowledge_behaviourpair pair ON pair.key = ranked.pair_key
                WHERE ranked.rank = 1
                ON CONFLICT (dedup_key) DO UPDATE SET
                    support_count = knowledge_candidate.support_count + excluded.support_count,
                    known_labels = {labels_merge},
                    updated_at = excluded.updated_at""",
                [run_id, timestamp, timestamp],
                "knowledge_candidate",
                counts.seconds,
            )
            keys_started = time.monotonic()
        if checked_in_bulk:
            counts.seconds["candidate_keys"] = round(time.monotonic() - keys_started, 3)
        if changed is not None:
            distinct_candidates = changed  # every row the upsert touched was inserted or gained support
        else:
            cursor.execute(f"SELECT count(DISTINCT dedup_key) FROM {staging}")
            distinct_candidates = int(cursor.fetchone()[0])
        counts.candidates_created = inserted
        counts.candidates_merged = distinct_candidates - inserted
    return counts
