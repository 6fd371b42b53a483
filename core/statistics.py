"""Planner statistics after the application's own large changes (issue 22).

A team imports a pool and starts labelling at once: nobody runs ``VACUUM ANALYZE`` and autovacuum may be off or
slow to reach freshly loaded tables. PostgreSQL then plans against what it last knew (an empty table, or no
statistics at all), and psycopg's prepared statements keep a generic plan made on those numbers. So the code that
makes a large change (an ingest, a filter run, a queue fill, a priorities recompute) calls
``tables_analyze_after_change`` with how many rows of each table it wrote; a table is analyzed when that change
is large: at least ``ANALYZE_MIN_ROWS`` rows, and either ``ANALYZE_ALWAYS_ROWS`` rows or more than
``ANALYZE_MIN_SHARE`` of the rows the planner last counted (``pg_class.reltuples``; a table never analyzed counts
as empty). ANALYZE samples at most 30,000 rows per table (``default_statistics_target`` 100), so it costs well
under a second even at 1,000,000 rows, and it takes no lock that blocks reads or writes.

Inside a transaction the ANALYZE runs after the commit (``transaction.on_commit``): statistics taken before then
would not see the uncommitted rows. PostgreSQL only; SQLite (the demo) has no such statistics to go stale.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

ANALYZE_MIN_ROWS = 1_000  # below this, plans on a wrong estimate cost little
ANALYZE_ALWAYS_ROWS = 10_000  # a change this large is always analyzed
ANALYZE_MIN_SHARE = 0.10  # or one larger than this share of the table as the planner last counted it


def tables_analyze_after_change(*, changed: Mapping[str, int]) -> None:
    """ANALYZE the tables whose change (rows written, per table name) is large; after the commit when inside a
    transaction. A failed ANALYZE is logged, never raised: the change it follows has been made."""
    if connection.vendor != "postgresql":
        return
    tables = {table: rows for table, rows in changed.items() if rows >= ANALYZE_MIN_ROWS}
    if not tables:
        return
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _analyze_large(tables))
    else:
        _analyze_large(tables)


def _analyze_large(changed: Mapping[str, int]) -> list[str]:
    """ANALYZE those of ``changed`` that are large against the planner's last count; returns their names."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, c.reltuples FROM pg_class c WHERE c.relname = ANY(%s) "
                "AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)",
                [sorted(changed)],
            )
            known = {name: float(reltuples) for name, reltuples in cursor.fetchall()}
            analyzed = []
            for table in sorted(changed):
                if table not in known:
                    continue  # not a table of this schema: nothing to analyze
                rows = changed[table]
                counted = max(known[table], 0.0)  # -1: never analyzed
                if rows >= ANALYZE_ALWAYS_ROWS or rows > ANALYZE_MIN_SHARE * counted:
                    cursor.execute(f'ANALYZE "{table}"')
                    analyzed.append(table)
    except DatabaseError:
        logger.exception("ANALYZE after a large change of %s failed", ", ".join(sorted(changed)))
        return []
    if analyzed:
        logger.info("analyzed %s after a large change", ", ".join(analyzed))
    return analyzed
