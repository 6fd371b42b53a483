"""Bulk writes that both PostgreSQL (COPY) and SQLite (executemany) understand; for set-based services."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from django.db import connection

# PostgreSQL's binary COPY: a signature, flags and header extension, then per row the field count and each field's
# length and big-endian value, then -1.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)
_KEY_VALUE_ROW = np.dtype(
    [("fields", ">i2"), ("key_size", ">i4"), ("key", ">i8"), ("value_size", ">i4"), ("value", ">f8")]
)


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


def key_values_copy(*, table: str, keys: np.ndarray, values: np.ndarray) -> int:
    """Append (bigint, double precision) rows from two arrays to a table of columns ``k`` and ``v``: one binary
    COPY on PostgreSQL, built by numpy without a Python object per row (a million rows in tens of milliseconds,
    where ``rows_copy`` takes about 2 s); ``rows_copy`` elsewhere. Returns the row count."""
    count = len(keys)
    if len(values) != count:
        raise ValueError("keys and values differ in length")
    if connection.vendor != "postgresql":
        return rows_copy(table=table, columns=("k", "v"), rows=zip(keys.tolist(), values.tolist(), strict=True))
    rows = np.empty(count, dtype=_KEY_VALUE_ROW)
    rows["fields"], rows["key_size"], rows["value_size"] = 2, 8, 8
    rows["key"], rows["value"] = keys, values
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} (k, v) FROM STDIN WITH (FORMAT binary)") as copy,
    ):
        copy.write(_BINARY_HEADER + rows.tobytes() + _BINARY_TRAILER)
    return count


def rows_set_column(*, table: str, key: str, column: str, sql_type: str, rows: Iterable[tuple[Any, Any]]) -> int:
    """Set one column of many rows from (key, value) pairs: a temporary table filled with ``rows_copy`` and one
    UPDATE (on PostgreSQL, of the rows whose value differs); returns how many pairs were given. ``table``, ``key``,
    ``column`` and ``sql_type`` are trusted identifiers chosen by the caller (an app, for its own table)."""
    return _column_set(
        table=table,
        key=key,
        column=column,
        sql_type=sql_type,
        fill=lambda temporary: rows_copy(table=temporary, columns=("k", "v"), rows=rows),
    )


def float_column_set(*, table: str, key: str, column: str, keys: np.ndarray, values: np.ndarray) -> int:
    """``rows_set_column`` for a ``double precision`` column, from arrays of keys and values (``key_values_copy``)."""
    return _column_set(
        table=table,
        key=key,
        column=column,
        sql_type="double precision",
        fill=lambda temporary: key_values_copy(table=temporary, keys=keys, values=values),
    )


def _column_set(*, table: str, key: str, column: str, sql_type: str, fill: Callable[[str], int]) -> int:
    from django.db import transaction

    temporary = f"plausi_set_{table}_{column}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temporary}")
        cursor.execute(f"CREATE TEMPORARY TABLE {temporary} (k bigint PRIMARY KEY, v {sql_type})")
        count = fill(temporary)
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
