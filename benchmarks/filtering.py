#!/usr/bin/env python
"""Filtering benchmark: prints the figures of issue 3.

    python benchmarks/filtering.py                  # all three parts
    python benchmarks/filtering.py --part run --rows 1000000

1. rules: candidates/s of the rule set on one core over 1,000,000 synthetic candidates (benchmarks/filtering_rules.py);
2. similarity: candidates/s of the similarity filter on this CPU (MiniLM when installed, else TF-IDF), and the
   standalone GPU script to run on a GPU machine (filtering/bench_similarity.py, no Django);
3. run: a full FilterRun (rules only) over N pooled candidates in a fresh PostgreSQL database (target: 1,000,000
   in under 2 minutes on the 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def part_rules(rows: int) -> None:
    print("== rules (one core) ==", flush=True)
    subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            str(ROOT / "benchmarks" / "filtering_rules.py"),
            "--candidates",
            str(rows),
        ],
        check=True,
    )


def part_similarity(rows: int) -> None:
    print("== similarity (this CPU) ==", flush=True)
    from filtering.similarity import default_encoder_path

    command = [sys.executable, str(ROOT / "filtering" / "bench_similarity.py"), "--n", str(rows), "--batch-size", "256"]
    if default_encoder_path() is None:
        print("(MiniLM package not installed: measuring a tiny random model instead)")
        command += ["--random-model", "tiny"]
    subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    print("On a GPU machine: python filtering/bench_similarity.py --n 200000 --batch-size 1024 (target >= 20,000/s)")


def part_run(rows: int, database: str) -> None:
    print(f"== full filter run, rules only, {rows:,} candidates in PostgreSQL ==", flush=True)
    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    import django

    django.setup()
    import copy

    from django.core.management import call_command

    from benchmarks.ingest import generate
    from filtering.config import DEFAULT_CONFIG
    from filtering.services import (
        filter_configuration_create,
        filter_run_claim,
        filter_run_create,
        filter_run_execute,
    )
    from knowledge.models import IngestRun
    from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute

    call_command("migrate", verbosity=0)
    folder = Path(tempfile.mkdtemp(prefix="plausi-bench-"))
    path = folder / "candidates.jsonl.gz"
    generate(path, rows)
    ingest = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source=IngestRun.Source.CLI)
    ingest_run_claim(run_id=ingest.pk)
    started = time.perf_counter()
    ingest = ingest_run_execute(run_id=ingest.pk)
    print(f"ingested {ingest.lines_valid:,} lines in {time.perf_counter() - started:.1f} s")
    path.unlink()
    folder.rmdir()
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["enabled"] = False
    configuration = filter_configuration_create(config=config, note="benchmark: rules only")
    for attempt in ("first run (moves candidates)", "re-run, same configuration"):
        run = filter_run_create(configuration_version=configuration.version)
        filter_run_claim(run_id=run.pk)
        started = time.perf_counter()
        run = filter_run_execute(run_id=run.pk)
        elapsed = time.perf_counter() - started
        print(f"{attempt}: {elapsed:.1f} s ({run.candidates_seen / elapsed:,.0f} candidates/s); {run.message}")
        print(f"  phases: {run.timings}")
        print(f"  drops per rule: {run.report.get('per_rule')}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB; target (1,000,000 in < 120 s): see the first run above")


def main() -> int:
    from benchmarks.production_switches import use_production_pipeline

    use_production_pipeline()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["rules", "similarity", "run", "all"], default="all")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--similarity-rows", type=int, default=2_000)
    parser.add_argument("--database", default="plausi_bench_filter")
    args = parser.parse_args()
    if args.part in ("rules", "all"):
        part_rules(args.rows)
    if args.part in ("similarity", "all"):
        part_similarity(args.similarity_rows)
    if args.part in ("run", "all"):
        part_run(args.rows, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
