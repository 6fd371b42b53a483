"""Celery task outcomes, counted where the task ran and exported by the web at ``/metrics``.

Workers are separate processes (often on other hosts, a prefork pool's children among them), so a count kept in a
worker's memory would need its own scrape target per worker process. Instead each worker adds its task's outcome
to one row per (task, outcome) in the database, with one upsert after the task ends (``task_postrun``): every
worker's counts land in one place, survive restarts and deploys (true Prometheus counters, no resets), need no
extra port, and work on the demo's SQLite as on PostgreSQL. Tasks are coarse (a run, a scoring chunk, a beat
tick), never one per candidate, so the write is a small cost; a count that cannot be written (the database is
down) is logged and dropped, never raised into the task.

Not counted: a task whose process was killed (SIGKILL, a hard time limit) never reaches ``task_postrun``; the run
it was executing is taken over by the sweep, and a run given up shows as ``failed`` in ``plausi_runs``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import signals
from django.db import connection
from django.utils import timezone

from core.logs import task_context_reset, task_context_set

logger = logging.getLogger(__name__)

# Celery's end states (celery.states) as the outcomes exported; IGNORED and REJECTED tasks are neither.
OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}

_UPSERT = (
    "INSERT INTO core_taskoutcome (task, outcome, count, seconds, updated_at) VALUES (%s, %s, 1, %s, %s) "
    "ON CONFLICT (task, outcome) DO UPDATE SET count = core_taskoutcome.count + 1, "
    "seconds = core_taskoutcome.seconds + excluded.seconds, updated_at = excluded.updated_at"
)

_started: dict[str, tuple[float, Any]] = {}  # task id -> (monotonic start, the log context's reset token)


def task_outcome_record(*, task: str, outcome: str, seconds: float) -> None:
    """Add one ``outcome`` of ``task`` (and the seconds it ran) to its counters, in a statement of its own."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [task[:200], outcome, max(0.0, seconds), timezone.now()])


def _prerun(sender: Any = None, task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    name = getattr(task, "name", "") or ""
    _started[task_id] = (time.monotonic(), task_context_set(task_id=task_id, task_name=name))


def _postrun(sender: Any = None, task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    started, token = _started.pop(task_id, (None, None))
    try:
        outcome = OUTCOMES.get(state or "")
        if outcome is None or task is None:
            return
        seconds = time.monotonic() - started if started is not None else 0.0
        try:
            task_outcome_record(task=task.name, outcome=outcome, seconds=seconds)
        except Exception as exc:  # the database is down or busy: lose this count, never the task
            logger.warning("could not count %s %s: %s", task.name, outcome, type(exc).__name__)
    finally:
        if token is not None:
            task_context_reset(token)


def task_outcomes_connect() -> None:
    """Count outcomes in this process (called by ``CoreConfig.ready``: signals fire only where tasks run)."""
    signals.task_prerun.connect(_prerun, weak=False, dispatch_uid="plausi_task_outcome_prerun")
    signals.task_postrun.connect(_postrun, weak=False, dispatch_uid="plausi_task_outcome_postrun")
