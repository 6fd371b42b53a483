"""Bulk writes that both PostgreSQL (COPY) and SQLite (executemany) understand; for set-based services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def rows_copy(*, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Append rows to a table: COPY on PostgreSQL, a batched executemany elsewhere. Returns the row count.

    ``table`` and ``columns`` are trusted identifiers chosen by the caller, never user input.
    """
    column_list = ", ".join(columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", batch)  # noqa: S608
                count += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", batch)  # noqa: S608
            count += len(batch)
    return count


def rows_set_column(*, table: str, key: str, column: str, sql_type: str, rows: Iterable[tuple[Any, Any]]) -> int:
    """Set one column of many rows from (key, value) pairs: a temporary table filled with ``rows_copy`` and one
    UPDATE (on PostgreSQL, of the rows whose value differs); returns how many pairs were given. ``table``, ``key``,
    ``column`` and ``sql_type`` are trusted identifiers chosen by the caller (an app, for its own table)."""
    from django.db import transaction

    temporary = f"plausi_set_{table}_{column}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temporary}")
        cursor.execute(f"CREATE TEMPORARY TABLE {temporary} (k bigint PRIMARY KEY, v {sql_type})")
        count = rows_copy(table=temporary, columns=("k", "v"), rows=rows)
        if connection.vendor == "postgresql":
            # One hash join, and rows whose value is already right are not rewritten (no new row version, no
            # index entries): a recompute over a million rows that changes few of them writes few.
            cursor.execute(
                f"UPDATE {table} SET {column} = t.v FROM {temporary} t "  # noqa: S608
                f"WHERE t.k = {table}.{key} AND {table}.{column} IS DISTINCT FROM t.v"
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET {column} = (SELECT t.v FROM {temporary} t WHERE t.k = {table}.{key}) "  # noqa: S608
                f"WHERE {key} IN (SELECT k FROM {temporary})"
            )
        cursor.execute(f"DROP TABLE {temporary}")
    return count
