#!/usr/bin/env python
"""One annotator's claim, alone, on a database left by ``benchmarks/annotation_load.py``: milliseconds per claim
and queue rows read (issue 22: a claim whose cost does not grow with ties, leases or the pool, and no slower
for a single client).

    python benchmarks/annotation_load.py --candidates 100000 --pool tied --protocol api --no-warm-up
    python benchmarks/annotation_claim.py --database plausi_bench_annotation --claims 200  # the database it left

A fresh annotator claims ``--claims`` times through this checkout's claim service (``annotation.services.leases``),
each claim committed as the server commits it (so that psycopg prepares the statement after its fifth use and
PostgreSQL keeps a generic plan, as on a server connection). Its passes end at once (the lease is finished), so
the annotator's own history grows as a working annotator's does. Printed: the first five claims (planned each
time) apart, then the median, p90 and p99 of the rest, and EXPLAIN (ANALYZE, BUFFERS) of one more claim, rolled
back. The claims stay in the database (their candidates are leased and finished by a benchmark user).
Run it with two checkouts against the same database to compare their claims on the same queue.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="plausi_bench_annotation")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--claims", type=int, default=200)
    args = parser.parse_args()

    from benchmarks.annotation_load import _django_setup, annotators_create, claim_explain_sample

    _django_setup(f"postgres://{args.user}@{args.host}:5432/{args.database}?conn_max_age=600")
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from annotation.models import Assignment
    from annotation.services import leases

    call_command("migrate", verbosity=0)  # the database may predate this checkout (older code runs on newer too)
    ((annotator_id, _token),) = annotators_create(f"bench-claim-{uuid.uuid4().hex[:6]}", 1)
    from django.contrib.auth import get_user_model

    annotator = get_user_model().objects.get(pk=annotator_id)
    times: list[float] = []
    for _ in range(args.claims):
        started = time.perf_counter()
        with transaction.atomic():
            claimed = leases._claim(annotator, timezone.now())
        times.append((time.perf_counter() - started) * 1000)
        if claimed is None:
            print("the queue ran dry for this annotator")
            break
        with transaction.atomic():  # the pass ends: the annotator's history grows, its slot is given back
            leases._finish(claimed.assignment, Assignment.Status.DONE, timezone.now())
    first, rest = times[:5], sorted(times[5:])

    def at(percent: float) -> float:
        return rest[min(len(rest) - 1, max(0, math.ceil(percent / 100 * len(rest)) - 1))] if rest else math.nan

    print(f"claims by one annotator on {args.database}: {len(times)}")
    print(f"  first five (planned each time): {', '.join(f'{ms:.2f}' for ms in first)} ms")
    print(
        f"  the rest: median {statistics.median(rest) if rest else math.nan:.3f} ms, p90 {at(90):.3f} ms, "
        f"p99 {at(99):.3f} ms (claim statement with its transaction, one client, through Django)"
    )
    sample = claim_explain_sample([annotator_id])
    for rows, buffers, ms in sample:
        print(f"  EXPLAIN (ANALYZE, BUFFERS) of the next claim: {rows} queue rows read, {buffers} buffers, {ms:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
