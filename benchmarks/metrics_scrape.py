#!/usr/bin/env python
"""What a ``/metrics`` scrape costs at scale: prints the time of the domain figures read uncached.

    python benchmarks/metrics_scrape.py                    # 1,000,000 queue items, 1,000,000 sent outbox messages
    python benchmarks/metrics_scrape.py --rows 100000 --reuse-database

A PostgreSQL database of its own (``plausi_bench_metrics``, or --database) is migrated, then filled by
``generate_series`` with ``--rows`` queue items (80% open) and as many sent outbox messages plus 100 pending ones,
and the answers' id sequence is moved to 3 x --rows (the answer figure reads only the sequence). Foreign keys are
not checked while filling (``session_replication_role = replica``): the figures read none of the tables they
point to. After VACUUM ANALYZE, each scrape source is timed --repeat times without the cache
(``METRICS_CACHE_SECONDS=0``), and so is the whole text exposition.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(label: str, action: object, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        f"{label:<42} median {statistics.median(times):7.1f} ms   p95 {times[int(0.95 * (len(times) - 1))]:7.1f} ms"
        f"   max {times[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", default="plausi_bench_metrics")
    parser.add_argument("--reuse-database", action="store_true")
    arguments = parser.parse_args()

    import psycopg

    admin_url = "postgres://postgres@127.0.0.1:5432/postgres"
    if not arguments.reuse_database:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{arguments.database}"')
            admin.execute(f'CREATE DATABASE "{arguments.database}"')
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{arguments.database}"
    os.environ["METRICS_CACHE_SECONDS"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from annotation.selectors import answers_written, queue_depth
    from core.metrics import metrics_exposition
    from core.selectors import outbox_backlog, run_counts_by_state, task_outcome_counts
    from pipeline.metrics import pipeline_metrics

    if not arguments.reuse_database:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        rows = arguments.rows
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(
                "INSERT INTO annotation_queueitem (candidate_id, state, priority, wanted, in_flight, is_gold) "
                "SELECT i, CASE WHEN i %% 5 = 0 THEN 'closed' ELSE 'open' END, random(), 2, 0, false "
                "FROM generate_series(1, %s) i",
                [rows],
            )
            cursor.execute(
                "INSERT INTO core_outboxmessage (task, args, queue, attempts, last_error, sent_at) "
                "SELECT 'knowledge.ingest_run_execute', jsonb_build_array(i), '', 0, '', now() "
                "FROM generate_series(1, %s) i",
                [rows],
            )
            cursor.execute(
                "INSERT INTO core_outboxmessage (task, args, queue, attempts, last_error) "
                "SELECT 'knowledge.ingest_run_execute', jsonb_build_array(i), '', 0, '' FROM generate_series(1, 100) i"
            )
            cursor.execute("SELECT setval(pg_get_serial_sequence('annotation_answer', 'id'), %s)", [3 * rows])
            cursor.execute("SET session_replication_role = DEFAULT")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE annotation_queueitem")
            cursor.execute("VACUUM ANALYZE core_outboxmessage")
        print(f"filled {rows:,} queue items and {rows:,} sent outbox messages in {time.perf_counter() - started:.0f} s")

    print(
        f"queue open: {queue_depth():,} (exact up to 10,000); answers: {answers_written():,}; "
        f"outbox: {outbox_backlog()}"
    )
    _timed("answers_written (sequence)", answers_written, arguments.repeat)
    _timed("queue_depth (capped count + estimate)", queue_depth, arguments.repeat)
    _timed("outbox_backlog", outbox_backlog, arguments.repeat)
    _timed("run_counts_by_state", run_counts_by_state, arguments.repeat)
    _timed("task_outcome_counts", task_outcome_counts, arguments.repeat)
    _timed("pipeline_metrics (every source)", lambda: list(pipeline_metrics()), arguments.repeat)
    _timed("metrics_exposition (the whole text)", metrics_exposition, arguments.repeat)


if __name__ == "__main__":
    main()
