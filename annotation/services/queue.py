"""Filling the annotation queue from the pooled candidates."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from annotation import sql
from annotation.services.common import GOLD_WANTED, _conf
from core.foreign_keys import foreign_keys_checked_in_bulk
from core.statistics import tables_analyze_after_change

FILL_WORK_MEM = "256MB"


def queue_fill(
    *, limit: int | None = None, gold_from_known_labels: bool = True, priorities_table: str | None = None
) -> int:
    """Put pooled candidates that are not queued yet into the queue (set-based); returns how many were added.

    Candidates with known answers become gold questions unless ``gold_from_known_labels`` is off (a simulation
    or an evaluation set uses the known answers as the truth to annotate, not to test annotators). New items get
    priority 0, or their priority from ``priorities_table`` (``queue_fill_prioritised`` writes each item once
    with its priority instead of rewriting a million rows right after inserting them).
    """
    statement = sql.queue_fill_statement(
        gold_from_known_labels=gold_from_known_labels,
        postgresql=connection.vendor == "postgresql",
        limited=limit is not None,
        priorities_table=priorities_table,
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = [GOLD_WANTED, _conf("MIN_ANSWERS"), now, now]
    if limit is not None:
        params.append(limit)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        added = cursor.rowcount
        # The claim's plans need statistics that see the new queue, taken after the commit (issue 22).
        tables_analyze_after_change(changed={"annotation_queueitem": added})
    return added


def queue_fill_rows(*, gold_from_known_labels: bool, priorities_table: str, rows_coming: int = 0) -> int:
    """The fill's INSERT alone, with priorities from ``priorities_table``, in the caller's transaction (which
    takes the statistics afterwards): ``annotation.priorities.queue_fill_prioritised``. ``rows_coming`` (about how
    many items it adds) lets a first fill check the items' candidate key in one join and build the priority
    indexes after its INSERT, the items then written in candidate order (core/foreign_keys.py; a million items:
    7.7 s of INSERT with every index maintained, 3.7 s with the four priority indexes built after)."""
    postgresql = connection.vendor == "postgresql"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    keys = foreign_keys_checked_in_bulk(
        table="annotation_queueitem",
        columns=("candidate_id",),
        rows_coming=rows_coming,
        rebuilt_indexes=("priority",),
    )
    with keys as in_bulk, connection.cursor() as cursor:
        if postgresql:
            # The join with a million priorities and the sort stay in memory instead of temporary files.
            cursor.execute(f"SET LOCAL work_mem = '{FILL_WORK_MEM}'")
        statement = sql.queue_fill_statement(
            gold_from_known_labels=gold_from_known_labels,
            postgresql=postgresql,
            limited=False,
            priorities_table=priorities_table,
            in_candidate_order=in_bulk,
        )
        cursor.execute(statement, [GOLD_WANTED, _conf("MIN_ANSWERS"), now, now])
        return int(cursor.rowcount)
