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
