"""The pipeline's figures at ``/metrics`` (core/metrics.py calls ``pipeline_metrics`` at scrape time, at most every
``METRICS_CACHE_SECONDS``). Each comes from a source that costs the same at any pool size: a sequence's high
mark, a capped count or the planner's estimate, the outbox's partial index, the run tables (one row per job) and
the task outcome counters. docs/operations.md explains each and suggests alerts."""

from __future__ import annotations

from collections.abc import Iterator

from annotation.selectors import answers_written, queue_depth
from core.metrics import Family
from core.selectors import outbox_backlog, run_counts_by_state, task_outcome_counts


def pipeline_metrics() -> Iterator[Family]:
    yield Family(
        "plausi_answers",
        "counter",
        "Answers written since the database was made (the answers' id sequence: undone answers stay counted).",
        samples=(((), float(answers_written())),),
    )
    yield Family(
        "plausi_annotation_queue_open",
        "gauge",
        "Candidates open in the annotation queue (exact up to 10,000, the planner's estimate above).",
        samples=(((), float(queue_depth())),),
    )
    runs = run_counts_by_state()
    yield Family(
        "plausi_runs",
        "gauge",
        "Run records by kind (ingest, filter, training, scoring, export, generation) and state.",
        labels=("kind", "state"),
        samples=tuple(((kind, state), float(count)) for (kind, state), count in sorted(runs.items())),
    )
    backlog = outbox_backlog()
    yield Family(
        "plausi_outbox_pending",
        "gauge",
        "Task messages written but not yet published to the broker (counted up to 100,000).",
        samples=(((), float(backlog.pending)),),
    )
    yield Family(
        "plausi_outbox_oldest_pending_age_seconds",
        "gauge",
        "Age of the oldest message not yet published (0 when none is pending).",
        samples=(((), backlog.oldest_age_seconds),),
    )
    outcomes = task_outcome_counts()
    yield Family(
        "plausi_celery_tasks",
        "counter",
        "Celery tasks that ended, by task name and outcome (succeeded, failed, retried), as the workers counted them.",
        labels=("task", "outcome"),
        samples=tuple(((task, outcome), float(count)) for task, outcome, count, _seconds in outcomes),
    )
    yield Family(
        "plausi_celery_task_seconds",
        "counter",
        "Seconds Celery tasks ran, by task name and outcome (divide by plausi_celery_tasks_total for the mean).",
        labels=("task", "outcome"),
        samples=tuple(((task, outcome), seconds) for task, outcome, _count, seconds in outcomes),
    )
