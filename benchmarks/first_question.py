#!/usr/bin/env python
"""File to first question (issue 22): ingest + filter (rules and similarity) + queue fill, timed in one process.

    python benchmarks/first_question.py --rows 100000                    # TF-IDF similarity (what the demo installs)
    python benchmarks/first_question.py --rows 100000 --encoder minilm   # the sentence encoder (GPU when there is one)
    python benchmarks/first_question.py --rows 100000 --profile filter.prof

The three services run one after the other in this process (what the pipeline's hand-offs ingest -> filter ->
queue do through Celery, minus the hand-off latency): ``ingest_run_execute``, ``filter_run_execute`` with the
shipped configuration (similarity on, ``--encoder`` chosen) and ``queue_fill_prioritised`` (the hand-off's: each
new item written once with its priority; ``--separate-fill``: ``queue_fill`` then ``queue_priorities_recompute``).
The file is generated first (benchmarks/ingest.py's generator, not timed). The database (``--database``) is dropped
and recreated. Targets (issue 22, the 2-core machine): 100,000 candidates in under 15 s, 1,000,000 in under 120 s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class _MachineCpu:
    """CPU use during the timed window: this process, PostgreSQL's processes, everything else (a shared machine:
    figures taken while other processes were busy do not compare)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self.load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
        self.machine = psutil.cpu_times()
        self.own = psutil.Process().cpu_times()
        self.db = self._postgres()
        self.started = time.monotonic()

    def _postgres(self) -> dict[int, float]:
        seconds = {}
        for proc in self._psutil.process_iter(["name"]):
            if (proc.info["name"] or "").startswith("postgres"):
                try:
                    times = proc.cpu_times()
                    seconds[proc.pid] = times.user + times.system
                except self._psutil.Error:
                    continue
        return seconds

    def stop(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        now = self._psutil.cpu_times()
        idle = (now.idle - self.machine.idle) + (now.iowait - self.machine.iowait)
        total = (
            sum(now) - sum(self.machine) - (now.guest - self.machine.guest) - (now.guest_nice - self.machine.guest_nice)
        )
        busy = (total - idle - (now.steal - self.machine.steal)) / elapsed
        own_now = self._psutil.Process().cpu_times()
        own = (own_now.user + own_now.system - self.own.user - self.own.system) / elapsed
        db = sum(value - self.db.get(pid, 0.0) for pid, value in self._postgres().items()) / elapsed
        return {
            "total": elapsed,
            "own": own,
            "db": db,
            "others": max(0.0, busy - own - db),
            "busy": busy,
            "cores": self._psutil.cpu_count(),
            "before": self.load_before,
            "after": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--encoder", default="tfidf", help="tfidf (default), minilm or a model folder")
    parser.add_argument("--database", default="plausi_bench_first_question")
    parser.add_argument("--profile", default="", help="write a cProfile of the filter step to this file")
    parser.add_argument(
        "--separate-fill", action="store_true", help="queue_fill, then queue_priorities_recompute (as before)"
    )
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    import django

    django.setup()
    import copy

    from django.core.management import call_command

    from annotation.services import queue_fill, queue_fill_prioritised, queue_priorities_recompute
    from benchmarks.ingest import generate
    from classifiers.selectors import classifier_uncertainty
    from filtering.config import DEFAULT_CONFIG
    from filtering.services import filter_configuration_create, filter_run_claim, filter_run_create, filter_run_execute
    from knowledge.models import IngestRun
    from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute

    call_command("migrate", verbosity=0)
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["encoder"] = args.encoder
    configuration = filter_configuration_create(config=config, note=f"benchmark: first question, {args.encoder}")
    folder = Path(tempfile.mkdtemp(prefix="plausi-bench-"))
    path = folder / "candidates.jsonl.gz"
    generate(path, args.rows)

    figures: dict[str, float] = {}
    machine = _MachineCpu()
    started = time.perf_counter()
    ingest = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source=IngestRun.Source.CLI)
    ingest_run_claim(run_id=ingest.pk)
    ingest = ingest_run_execute(run_id=ingest.pk)
    figures["ingest"] = time.perf_counter() - started
    path.unlink()
    folder.rmdir()

    stage = time.perf_counter()
    run = filter_run_create(configuration_version=configuration.version)
    filter_run_claim(run_id=run.pk)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    run = filter_run_execute(run_id=run.pk)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    figures["filter"] = time.perf_counter() - stage

    stage = time.perf_counter()
    if args.separate_fill:  # the fill at priority 0, then the recomputation (what the hand-off did before)
        queued = queue_fill()
        figures["queue_fill"] = time.perf_counter() - stage
        queue_priorities_recompute(uncertainty=classifier_uncertainty())
    else:  # what the hand-off does: each item written once, with its priority
        queued, _prioritised = queue_fill_prioritised(uncertainty=classifier_uncertainty())
    figures["queue"] = time.perf_counter() - stage
    figures["total"] = time.perf_counter() - started

    cpu = machine.stop()
    print(f"{ingest.lines_valid:,} lines ingested; ingest phases: {ingest.timings}")
    print(f"filter: {run.status}, {run.message}")
    print(f"  filter phases: {run.timings}")
    print(f"  drops per rule: {run.report.get('per_rule')}")
    if "queue_fill" in figures:
        print(
            f"  queued: {queued:,}; queue fill {figures['queue_fill']:.1f} s, then priorities "
            f"{figures['queue'] - figures['queue_fill']:.1f} s (--separate-fill)"
        )
    else:
        print(f"  queued: {queued:,}, each item with its priority (queue_fill_prioritised)")
    print(f"  filter partitions (FILTER_PARTITIONS): {run.timings.get('partitions', 1)}")
    print(
        "file to first question, {rows:,} candidates, encoder {enc}: ingest {ingest:.1f} s + filter {filter:.1f} s + "
        "queue {queue:.1f} s = {total:.1f} s".format(rows=args.rows, enc=args.encoder, **figures)
    )
    target = 15 if args.rows <= 100_000 else 120
    print(f"  target (< {target} s): {'met' if figures['total'] < target else 'NOT met'}")
    print(f"  peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(
        "  CPU over the {total:.1f} s: this process {own:.2f} cores, PostgreSQL {db:.2f}, other processes {others:.2f} "
        "(machine busy {busy:.2f} of {cores} cores); load average before {before}, after {after}".format(**cpu)
    )
    return 0 if run.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
