#!/usr/bin/env python
"""Answers export benchmark: 1,000,000 answers exported end to end in under 60 s with a peak RSS under 300 MB.

    python benchmarks/answers_export.py                      # seeds the database (~1 min), then measures
    python benchmarks/answers_export.py --reuse-database     # measure the data of an earlier run again
    python benchmarks/answers_export.py --answers 200000 --formats answers,answers_csv,labels,labels_csv,hf_dataset

A fresh PostgreSQL database (``plausi_bench_answers``) is migrated and seeded with set-based SQL: 400 annotators,
``answers / 10`` plain candidates, each answered by two annotators (one assignment each) on all five questions
(so 1,000,000 answers come from 100,000 candidates and 200,000 assignments), with answer times and durations
spread over a month, a queue item per candidate (2% gold) and the consolidated label of every question (500,000
labels). Each format is then exported by ``manage.py export_graph --format F`` in a child process, as an admin
would from the command line (an ExportRun, the streaming writers, the checksum and the rename), and its wall time
and peak RSS (the child's ``ru_maxrss``) are printed. Targets (answers, JSON Lines): < 60 s and < 300 MB.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 60
TARGET_MB = 300
ANNOTATORS = 400

SEED = [
    # annotators (no password: they never log in here)
    """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
         date_joined)
       SELECT '!', false, 'bench-annotator-' || i, '', '', '', false, true, now()
       FROM generate_series(1, %(annotators)s) i""",
    """INSERT INTO knowledge_candidate (dedup_key, head_kind, head_text, relation_id, tail, tail_normalized,
         generator, prompt_id, support_count, known_labels, status)
       SELECT md5(i::text), 'plain', 'head ' || (i / 4), r.ids[1 + i %% array_length(r.ids, 1)], 'tail ' || i,
         'tail ' || i, 'bench', '', 1, '{}', 'labelled'
       FROM generate_series(1, %(candidates)s) i,
         (SELECT array_agg(id ORDER BY id) AS ids FROM knowledge_relation) r""",
    """INSERT INTO annotation_queueitem (candidate_id, state, priority, wanted, in_flight, is_gold, created_at,
         updated_at)
       SELECT id, 'closed', 0, 0, 0, id %% 50 = 0, now(), now() FROM knowledge_candidate""",
    # two passes per candidate, by two different annotators
    """INSERT INTO annotation_assignment (candidate_id, annotator_id, status, lease_expires_at, created_at,
         finished_at)
       SELECT c.id, u.first + ((c.id * 7 + pass * 13) %% %(annotators)s), 'done',
         now() - interval '30 days' + (c.id %% 43200) * interval '1 minute',
         now() - interval '30 days' + (c.id %% 43200) * interval '1 minute',
         now() - interval '30 days' + (c.id %% 43200) * interval '1 minute' + interval '2 minutes'
       FROM knowledge_candidate c, generate_series(0, 1) pass,
         (SELECT min(id) AS first FROM auth_user WHERE username LIKE 'bench-annotator-%%') u""",
    # every question of every pass answered: Yes mostly, a No now and then
    """INSERT INTO annotation_answer (assignment_id, candidate_id, question_id, annotator_id, value, idempotency_key,
         seconds, created_at)
       SELECT a.id, a.candidate_id, q.id, a.annotator_id, (a.id + q.id) %% 9 <> 0, 'bench-' || a.id || '-' || q.id,
         2.0 + ((a.id * q.id) %% 170) / 10.0, a.created_at + q."order" * interval '15 seconds'
       FROM annotation_assignment a CROSS JOIN annotation_question q""",
    """INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, method,
         updated_at)
       SELECT candidate_id, question_id, count(*) FILTER (WHERE value) >= count(*) FILTER (WHERE NOT value),
         greatest(count(*) FILTER (WHERE value), count(*) FILTER (WHERE NOT value))::float / count(*),
         count(*) FILTER (WHERE value), count(*) FILTER (WHERE NOT value), 'majority', max(created_at)
       FROM annotation_answer GROUP BY candidate_id, question_id""",
    "ANALYZE",
]


def seed(*, database: str, answers: int, admin_url: dict[str, Any], database_url: str) -> None:
    import psycopg

    with psycopg.connect(**admin_url, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    _django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotation_question")
        questions = int(cursor.fetchone()[0])
        sizes = {"annotators": ANNOTATORS, "candidates": max(1, answers // (2 * questions))}
        for statement in SEED:
            started = time.perf_counter()
            cursor.execute(statement, sizes)
            table = statement.split()[2] if statement.startswith("INSERT") else statement
            print(f"  {table:<32} {cursor.rowcount:>10,} rows  {time.perf_counter() - started:.1f} s", flush=True)


def _django_setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = database_url
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--database", default="plausi_bench_answers")
    parser.add_argument("--reuse-database", action="store_true")
    parser.add_argument(
        "--formats", default="answers", help="Comma-separated: answers, answers_csv, labels, labels_csv, hf_dataset."
    )
    args = parser.parse_args()
    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["PRIVATE_MEDIA_ROOT"] = str(ROOT / "var" / "bench-answers")
    started = time.perf_counter()
    if args.reuse_database:
        _django_setup(database_url)
    else:
        seed(
            database=args.database,
            answers=args.answers,
            admin_url={"host": "127.0.0.1", "user": "postgres"},
            database_url=database_url,
        )
        print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    from annotation.models import Answer, ConsolidatedLabel

    answers, labels = Answer.objects.count(), ConsolidatedLabel.objects.count()
    print(f"{answers:,} answers, {labels:,} labels", flush=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": database_url,
        "PRIVATE_MEDIA_ROOT": os.environ["PRIVATE_MEDIA_ROOT"],
    }
    failed = False
    for fmt in args.formats.split(","):
        t0 = time.perf_counter()
        # a fresh child per format, its peak RSS read from wait4 (RUSAGE_CHILDREN would keep the largest so far)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "export_graph", "--format", fmt, "--no-progress"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - t0
        stdout, stderr = (
            process.stdout.read() if process.stdout else "",
            process.stderr.read() if process.stderr else "",
        )
        if os.waitstatus_to_exitcode(status) != 0:
            print(stdout, stderr)
            return 1
        peak_mb = usage.ru_maxrss / 1024
        rows = answers if fmt.startswith("answers") else labels
        counts = re.search(r"export #\d+: (\{.*?\}) ->", stdout)
        if fmt == "hf_dataset" and counts:  # candidates and instruction rows
            rows = int(re.search(r"'rows': (\d+)", counts.group(1)).group(1))  # type: ignore[union-attr]
        size = re.search(r"\(([\d,]+) bytes", stdout)
        target = ""
        if fmt == "answers":
            ok = seconds < TARGET_SECONDS and peak_mb < TARGET_MB
            failed |= not ok
            target = f" (target: < {TARGET_SECONDS} s, < {TARGET_MB} MB: {'met' if ok else 'MISSED'})"
        print(
            f"{fmt}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, "
            f"{size.group(1) if size else '?'} bytes, peak RSS {peak_mb:.0f} MB{target}",
            flush=True,
        )
    print(
        f"total {time.perf_counter() - started:.0f} s (self: peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
