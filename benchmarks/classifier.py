#!/usr/bin/env python
"""Classifier loop benchmark: prints the issue-5 figures for the TF-IDF model on a pool in PostgreSQL.

    python benchmarks/classifier.py                        # 1,000,000 pooled candidates (built once, ~2 min)
    python benchmarks/classifier.py --reuse-database       # keep the database (and the feature cache) of a run
    python benchmarks/classifier.py --candidates 100000    # a quick run

The pool is the annotation benchmark's (synthetic ingest, every candidate pooled and queued). ``--labels`` of
them get consolidated labels on all five questions from a hidden rule on the tail words (so there is signal to
learn). Real Celery workers (``--workers`` processes, solo pool, ``cpu`` queue, Redis database 14) do the
work, exactly as in production: a training run, its activation, the scoring coordinator's chunk
tasks (50,000 ids each), the finish. Printed:

1. the first training and scoring, whose chunks compute and cache the hashed features of every candidate once;
2. "N-th label -> rescored pool": new labels arrive, a training is requested (what the 30-second beat tick does;
   add up to 30 s for that debounce), and the clock stops when the scoring run of the new version is complete;
3. the rescoring alone (from activation to the last chunk): read, score, write 1,000,000 scores.

Targets: rescoring <= 60 s; label -> rescored pool < 2 minutes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOOD_WORDS = {"warm", "dry", "quiet", "soft", "light", "fast", "safe", "clean"}


def start_workers(count: int, env: dict[str, str], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for number in range(count):
        log = open(log_dir / f"worker-{number}.log", "wb")  # noqa: SIM115
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--queues",
                    "cpu,default",
                    "--pool",
                    "solo",
                    "--prefetch-multiplier",
                    "1",
                    "--loglevel",
                    "WARNING",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"bench{number}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    time.sleep(6)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def label_candidates(count: int, offset: int) -> int:
    """Consolidated labels for ``count`` candidates (from the ``offset``-th by id): Yes on every question when the
    tail has a "good" word, otherwise No on "informative". Bumps the new-label counters like the answer path."""
    from django.db import connection

    from annotation.models import NewLabelCount, Question

    questions = {q.slug: q.pk for q in Question.objects.all()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, tail FROM knowledge_candidate ORDER BY id OFFSET %s LIMIT %s", [offset, count])
        rows = cursor.fetchall()
        values = []
        for candidate_id, tail in rows:
            good = bool(GOOD_WORDS & set(tail.split()))
            slugs = (
                ["complete", "relevant", "informative", "plausible", "typical"] if good else ["complete", "informative"]
            )
            for slug in slugs:
                value = good or slug == "complete"
                values.append((candidate_id, questions[slug], value))
        cursor.execute(
            "DELETE FROM annotation_consolidatedlabel WHERE candidate_id IN (SELECT id FROM "
            "knowledge_candidate ORDER BY id OFFSET %s LIMIT %s)",
            [offset, count],
        )
        for start in range(0, len(values), 5000):
            part = values[start : start + 5000]
            cursor.execute(
                "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, "
                "method, updated_at) VALUES " + ", ".join(["(%s, %s, %s, 1.0, 2, 0, 'majority', now())"] * len(part)),
                [v for row in part for v in row],
            )
    for question_id in questions.values():
        counter, _ = NewLabelCount.objects.get_or_create(question_id=question_id)
        NewLabelCount.objects.filter(pk=counter.pk).update(count=counter.count + len(rows))
    return len(rows)


def wait_for_scoring(after_run_ids: set[int], timeout: float) -> Any:
    from classifiers.models import ScoringRun, TrainingRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = TrainingRun.objects.filter(status="failed").exclude(pk__in=after_run_ids).first()
        if failed:
            raise RuntimeError(f"training failed: {failed.message}")
        run = ScoringRun.objects.exclude(pk__in=after_run_ids).order_by("-id").first()
        if run is not None and run.status == "succeeded":
            return run
        time.sleep(0.2)
    raise RuntimeError("timed out waiting for the scoring run")


def main() -> int:
    from benchmarks.production_switches import use_production_pipeline

    use_production_pipeline()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--labels", type=int, default=3_000)
    parser.add_argument("--database", default="plausi_bench_classifier")
    parser.add_argument("--reuse-database", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from benchmarks.annotation_load import _django_setup, database_build

    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    var = ROOT / "var" / "bench-classifier"
    os.environ["PLAUSI_MODEL_ROOT"] = str(var / "models")
    os.environ["PLAUSI_FEATURE_ROOT"] = str(var / "features")
    os.environ["TEST_CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/14"
    started = time.perf_counter()
    if args.reuse_database:
        _django_setup(database_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    else:
        shutil.rmtree(var, ignore_errors=True)
        database_build(
            database=args.database,
            candidates=args.candidates,
            admin_url={"host": "127.0.0.1", "user": "postgres"},
            database_url=database_url,
        )
    from django.db import connection

    from classifiers import services
    from classifiers.models import ScoringRun, TrainingRun

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM knowledge_candidate WHERE status IN ('pooled', 'in_annotation', 'labelled', 'scored')"
        )
        pool = cursor.fetchone()[0]
    print(f"pool: {pool:,} scorable candidates; setup {time.perf_counter() - started:.0f} s", flush=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "TEST_DATABASE_URL": database_url}
    log_dir = Path(tempfile.mkdtemp(prefix="plausi-bench-classifier-"))
    workers = start_workers(args.workers, env, log_dir)
    try:
        seen_runs = set(ScoringRun.objects.values_list("pk", flat=True))
        label_candidates(args.labels, 0)
        t0 = time.perf_counter()
        run = services.training_run_request(target="typical", trigger=TrainingRun.Trigger.LABELS)
        assert run is not None, "a training is already in flight"
        scoring = wait_for_scoring(seen_runs, timeout=3600)
        first = time.perf_counter() - t0
        print(
            f"1. first training + scoring (computes and caches the features): {first:.1f} s; "
            f"chunks {scoring.chunks_total}, {scoring.progress_done:,} scores",
            flush=True,
        )
        seen_runs.add(scoring.pk)
        label_candidates(args.labels // 3, args.labels)
        t0 = time.perf_counter()
        run = services.training_run_request(target="typical", trigger=TrainingRun.Trigger.LABELS, force=True)
        assert run is not None
        scoring = wait_for_scoring(seen_runs, timeout=600)
        label_to_pool = time.perf_counter() - t0
        run.refresh_from_db()
        rescoring = (scoring.finished_at - scoring.created_at).total_seconds()
        print(
            f"2. N-th label -> fully rescored pool: {label_to_pool:.1f} s "
            f"(training {run.timings.get('total_s', 0):.1f} s on {run.label_count:,} labels; "
            "target < 120 s, plus up to 30 s of beat debounce)",
            flush=True,
        )
        print(
            f"3. rescoring {scoring.progress_done:,} candidates (read, score, write): {rescoring:.1f} s "
            f"= {scoring.progress_done / max(rescoring, 1e-9):,.0f} candidates/s with {args.workers} workers "
            f"(target <= 60 s)",
            flush=True,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT candidate_id) FROM classifiers_candidatescore "
                "WHERE target = 'typical' AND version_token = %s",
                [scoring.version_token],
            )
            total, distinct = cursor.fetchone()
        print(
            f"   check: {total:,} scores of this version, {distinct:,} distinct candidates "
            f"({'ok' if total == distinct == scoring.progress_done else 'MISMATCH'})"
        )
        chunk_seconds = sorted(scoring.chunks.values_list("seconds", flat=True))
        print(f"   chunk seconds: median {chunk_seconds[len(chunk_seconds) // 2]:.2f}, max {chunk_seconds[-1]:.2f}")
    finally:
        stop_workers(workers)
        print(f"worker logs: {log_dir}")
    print(f"peak RSS of the largest worker: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
