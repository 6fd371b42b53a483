#!/usr/bin/env python3
"""Run one test (or a few) many times in a row, as a flaky test is hunted: each repetition is a fresh pytest
process; the worker logs a repetition left under var/ are kept per repetition; the summary prints the passes, the
failures and the durations.

    .venv/bin/python scripts/repeat_test.py --times 30 --reuse-db \\
        tests/classifiers/test_worker.py::test_a_worker_killed_mid_run_leaves_no_missing_and_no_duplicated_scores

(Options that this script does not know, such as ``--reuse-db``, go to pytest.)

Not part of ``make test`` (a loop of real worker kills takes minutes). Exit status 1 when any repetition failed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "var"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tests", nargs="+", help="pytest node ids")
    parser.add_argument("--times", type=int, default=30)
    parser.add_argument("--stop-on-failure", action="store_true", help="stop at the first failing repetition")
    parser.add_argument("--keep", default="test-worker-*.log", help="glob of var/ logs to keep per repetition")
    args, pytest_options = parser.parse_known_args()  # e.g. --reuse-db goes to pytest
    kept = LOGS / f"repeat-{time.strftime('%Y%m%d-%H%M%S')}"
    durations: list[float] = []
    failures: list[int] = []
    for repetition in range(1, args.times + 1):
        for old in LOGS.glob(args.keep):
            old.unlink()
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_options, *args.tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        durations.append(seconds)
        folder = kept / f"{repetition:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pytest.log").write_text(result.stdout + result.stderr)
        for log in LOGS.glob(args.keep):
            shutil.copy(log, folder / log.name)
        verdict = "passed" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"repetition {repetition:3d}/{args.times}: {verdict} in {seconds:.1f} s", flush=True)
        if result.returncode != 0:
            failures.append(repetition)
            if args.stop_on_failure:
                break
    print(
        f"{len(durations) - len(failures)} passed, {len(failures)} failed of {len(durations)}; "
        f"seconds min {min(durations):.1f} median {statistics.median(durations):.1f} max {max(durations):.1f}; "
        f"logs in {kept}" + (f"; failed: {failures}" if failures else "")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
