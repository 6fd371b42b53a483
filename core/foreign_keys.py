"""Foreign keys checked in one join for a first load, instead of one trigger query per row at commit.

PostgreSQL checks a foreign key row by row: every inserted row queues a trigger that, at commit (Django's keys
are ``DEFERRABLE INITIALLY DEFERRED``), runs ``SELECT 1 FROM <referenced> WHERE id = $1 FOR KEY SHARE``. For a
million new candidates that is three million queries, about 11 s of an ingest's commit and 5 s of a queue fill's
on the 2-core machine (docs/filtering.md, issue 22). ``pg_restore`` loads data before it creates the keys for
that reason; ``foreign_keys_checked_in_bulk`` does the same inside the caller's transaction: the keys go before
the INSERT and come back after it, exactly as they were (name and definition from ``pg_get_constraintdef``), and
re-creating a key checks every row in one anti-join. If any row has no referenced row, that re-creation fails and
the caller's transaction rolls back, as it would have at commit.

The cost is the lock: dropping a key takes an ACCESS EXCLUSIVE lock on both tables until the transaction ends,
so readers of those tables wait for the load. It is only worth it, and only done, when the load at least doubles
the table (the first import of a pool, the first fill of a queue: nobody is working on those rows yet) and
brings ``BULK_MIN_ROWS`` rows or more. The locks are asked for with a short ``lock_timeout``: a table that another
transaction is using keeps its keys and the rows are checked one by one, as always. Not on SQLite (no such keys to
drop), not where the database user may not alter the table, and not with ``BULK_FOREIGN_KEY_CHECKS=false``: those
check row by row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from psycopg import errors as pg_errors

logger = logging.getLogger(__name__)

#: What leaves the keys in place (the rows are then checked one by one): a lock not granted in time, a user that may
#: not alter the table, a table in use in a way that forbids it.
_KEEP_KEYS_ON = (pg_errors.LockNotAvailable, pg_errors.InsufficientPrivilege, pg_errors.ObjectInUse)

#: Fewer new rows than this are checked row by row whatever the table holds (the triggers are cheap there).
BULK_MIN_ROWS = 50_000
#: How long to wait for the tables' locks before checking row by row instead.
LOCK_TIMEOUT_MS = 1_000


def _keys(cursor: Any, table: str, columns: Sequence[str]) -> list[tuple[str, str]]:
    """(name, definition) of the single-column foreign keys of ``table`` on ``columns``."""
    cursor.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND cardinality(c.conkey) = 1 "
        "AND a.attname = ANY(%s) ORDER BY c.conname",
        [table, list(columns)],
    )
    return [(str(name), str(definition)) for name, definition in cursor.fetchall()]


def _indexes(cursor: Any, table: str, columns: Sequence[str]) -> list[tuple[str, str]]:
    """(name, ``CREATE INDEX`` statement) of the plain indexes of ``table`` that lead with one of ``columns``: not
    unique, not backing a constraint (an upsert's arbiter and the primary key stay)."""
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
        "AND a.attname = ANY(%s) ORDER BY i.relname",
        [table, list(columns)],
    )
    return [(str(name), str(definition)) for name, definition in cursor.fetchall()]


def _holds_at_least(cursor: Any, table: str, rows: int) -> bool:
    """Whether ``table`` has at least ``rows`` rows (reads at most that many)."""
    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) s", [rows])  # noqa: S608
    return int(cursor.fetchone()[0]) >= rows


def _drop(cursor: Any, table: str, keys: list[tuple[str, str]], indexes: list[tuple[str, str]]) -> bool:
    """Drop ``keys`` and ``indexes`` if their locks come within ``LOCK_TIMEOUT_MS``; returns whether they went (all
    or none).

    A table with row checks still pending in this transaction cannot be altered, so they run first (``SET
    CONSTRAINTS ALL IMMEDIATE``: the same checks the commit would run, earlier; a violation raises here as it would
    there), and the keys are deferred again after (Django makes every key ``INITIALLY DEFERRED``)."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SELECT current_setting('lock_timeout')")
    previous = str(cursor.fetchone()[0])
    dropped = False
    try:
        with transaction.atomic():
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{LOCK_TIMEOUT_MS}ms"])
            if keys:
                cursor.execute(f"ALTER TABLE {table} " + ", ".join(f'DROP CONSTRAINT "{name}"' for name, _ in keys))
            if indexes:
                cursor.execute("DROP INDEX " + ", ".join(f'"{name}"' for name, _ in indexes))
        dropped = True
    except DatabaseError as exc:
        if not isinstance(exc.__cause__, _KEEP_KEYS_ON):
            raise
        logger.info("%s keeps its foreign keys for this load (%s): rows checked one by one", table, exc)
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return dropped


@contextmanager
def foreign_keys_checked_in_bulk(
    *, table: str, columns: Sequence[str], rows_coming: int, rebuilt_indexes: Sequence[str] = ()
) -> Iterator[bool]:
    """Around an INSERT of about ``rows_coming`` rows into ``table``, in the caller's transaction: drop the foreign
    keys of ``table`` on ``columns`` when the load qualifies (see the module docstring), re-create them after the
    block, which checks every row at once. Yields whether the keys were dropped (False: the rows are checked one
    by one at commit, as without this). ``table`` and the column names are trusted identifiers chosen by the
    caller.

    ``rebuilt_indexes``: columns whose plain indexes (those leading with one of them, see ``_indexes``) go with the
    keys and are built again after the block, as ``pg_restore`` does: one sorted build instead of a million
    insertions into the middle of a B-tree (the candidates arrive in ``dedup_key`` order, so their pair index
    was written at random places: 3.7 s of a 10 s INSERT of a million rows, docs/filtering.md).

    The block runs in a savepoint: an error inside it rolls back the drop with the rows, so the keys are never
    left off whatever the caller does with the error. A row without its referenced row makes the re-creation
    raise ``IntegrityError``.
    """
    if (
        connection.vendor != "postgresql"
        or rows_coming < BULK_MIN_ROWS
        or not connection.in_atomic_block
        or not getattr(settings, "BULK_FOREIGN_KEY_CHECKS", True)
    ):
        yield False
        return
    with transaction.atomic(), connection.cursor() as cursor:
        dropped = False
        keys: list[tuple[str, str]] = []
        indexes: list[tuple[str, str]] = []
        if not _holds_at_least(cursor, table, rows_coming):
            keys = _keys(cursor, table, columns)
            indexes = _indexes(cursor, table, rebuilt_indexes) if rebuilt_indexes else []
            if keys or indexes:
                dropped = _drop(cursor, table, keys, indexes)
        yield dropped
        if dropped:
            # The table's other keys checked the block's rows as usual: those checks run first (a table with
            # pending checks cannot be altered or indexed), as in ``_drop``.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _, definition in indexes:
                cursor.execute(definition)
            if keys:
                adds = ", ".join(f'ADD CONSTRAINT "{name}" {definition}' for name, definition in keys)
                cursor.execute(f"ALTER TABLE {table} {adds}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
