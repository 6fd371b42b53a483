"""Query plans of a hot transaction: PostgreSQL's generic plan for its prepared statements, from their first use.

Why: psycopg prepares a statement at its sixth execution on a connection; PostgreSQL then plans it with the
parameters' values five times (custom plans) and afterwards keeps its parameter-independent generic plan only if
that plan's *estimated* cost is no higher than the custom plans' average. For the answer path's lock-and-read
statement (``annotation.sql.read_statement``: eight branches of UNION ALL) the estimate never is (cost 376 generic
against 245 custom on the load benchmark's database), so PostgreSQL planned it again at every answer: 0.7-0.8 ms
of planning for 0.1 ms of execution, the largest single share of PostgreSQL's CPU per answer. Its generic plan is
the custom plan's shape (the same index scans and nested loops; checked with ``PREPARE`` and ``EXPLAIN ANALYZE
EXECUTE`` under both ``plan_cache_mode`` settings, docs/annotation.md). The statements of such a transaction reach
their rows by key, so a plan made without the parameters' values cannot go wrong by much.

``SET LOCAL`` lasts until the transaction ends: only the statements of the caller's transaction are affected, every
other statement of the connection keeps PostgreSQL's default (``auto``). It costs one short statement (no plan, no
rows) where it saves a plan per statement.
"""

from __future__ import annotations

from django.db import connection

_GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"


def generic_plans_for_this_transaction() -> bool:
    """Make PostgreSQL use generic plans for the prepared statements of the transaction the caller has just begun
    (call it first inside the outermost ``transaction.atomic()``). Does nothing, and returns False, on other
    databases, inside an enclosing transaction (a caller's or a test's: the setting would outlive the block) and
    when the connection prepares no statement (``DATABASE_PREPARED_STATEMENTS=false``: every statement is then
    planned with its values anyway)."""
    if connection.vendor != "postgresql" or len(connection.atomic_blocks) != 1:
        return False
    if getattr(connection.connection, "prepare_threshold", None) is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_GENERIC_PLANS)
    return True
