#!/usr/bin/env python
"""Ingest benchmark: N synthetic candidates into a fresh PostgreSQL database; prints rows/s and peak RSS.

    python benchmarks/ingest.py --rows 1000000

Target (issue 2): 1,000,000 candidates in at most 60 s on the 2-core machine, peak RSS under 500 MB. The file
is generated first (streaming, not timed); the figure is the ingest alone: read, validate, COPY, merge.
The database ``plausi_bench`` (or --database) is dropped and recreated.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORIES = [
    "Shoes",
    "Outdoors",
    "Kitchen",
    "Baby",
    "Electronics",
    "Sports",
    "Pets",
    "Beauty",
    "Garden",
    "Toys",
]
RELATIONS = [
    "used_for_function",
    "used_for_event",
    "used_for_audience",
    "capable_of",
    "used_to",
    "used_as",
    "is_a",
    "used_on",
    "used_in_location",
    "used_with",
    "used_by",
    "x_interested_in",
    "x_want",
]
WORDS = [
    "keep",
    "warm",
    "dry",
    "grip",
    "ice",
    "walk",
    "run",
    "hike",
    "camp",
    "cook",
    "bake",
    "clean",
    "store",
    "carry",
    "protect",
    "charge",
    "light",
    "play",
    "learn",
    "sleep",
    "travel",
    "garden",
    "water",
    "feed",
    "groom",
    "relax",
    "train",
    "lift",
    "stretch",
    "brew",
    "blend",
    "slice",
    "hold",
    "wrap",
]
NOUNS = [
    "winter",
    "spring",
    "summer",
    "kitchen",
    "office",
    "baby",
    "dog",
    "cat",
    "garden",
    "beach",
    "trail",
    "party",
    "kids",
    "family",
    "friends",
    "coffee",
    "tea",
    "phone",
    "laptop",
    "bike",
    "car",
    "picnic",
    "yoga",
    "gym",
    "school",
    "travel",
    "bath",
    "bedroom",
    "balcony",
]


def generate(
    path: Path, rows: int, seed: int = 7, *, queries: int | None = None, broad: bool = False, search_share: float = 0.80
) -> None:
    """``rows`` JSONL lines: search-buy pairs (``search_share`` of them), co-buys (three quarters of the rest) and
    plain heads. ``queries`` distinct search queries (default one per 10 rows, each bought with one product). With
    ``broad``, every query is bought with products of many categories (specificity near 0, as in a pool of a few
    hundred broad queries before any classifier exists: most queue items then share the top priority)."""
    rng = random.Random(seed)
    n_products = max(10, rows // 20)
    n_queries = queries if queries is not None else max(10, rows // 10)
    products = [
        {
            "id": f"P{i:08d}",
            "title": f"{rng.choice(NOUNS).title()} {rng.choice(WORDS)} item {i}",
            # broad: 40 categories (four of each), so that a query bought across them has an entropy over log2(16)
            "category": f"{CATEGORIES[i % 10]} {i // 10 % 4}" if broad else CATEGORIES[i % len(CATEGORIES)],
        }
        for i in range(n_products)
    ]
    query_texts = [f"{rng.choice(NOUNS)} {rng.choice(WORDS)} {rng.choice(NOUNS)} {i}" for i in range(n_queries)]
    with gzip.open(path, "wb", compresslevel=1) as out:
        for i in range(rows):
            roll = rng.random()
            tail = f"{rng.choice(WORDS)} {rng.choice(NOUNS)} {rng.choice(WORDS)} {rng.randrange(rows // 4 + 1)}"
            relation = rng.choice(RELATIONS)
            if roll < search_share:
                q = rng.randrange(n_queries)
                product = (q * 7 + (rng.randrange(n_products) if broad else 0)) % n_products
                record = {
                    "kind": "search_buy",
                    "query": query_texts[q],
                    "product": products[product],
                    "count": 1 + q % 50,
                    "relation": relation,
                    "tail": tail,
                    "generator": "bench-llm",
                    "prompt_id": f"sb-{relation}-v1",
                }
            elif roll < search_share + (1 - search_share) * 0.75:
                a = rng.randrange(n_products)
                record = {
                    "kind": "co_buy",
                    "product": products[a],
                    "other_product": products[(a + 1) % n_products],
                    "count": 1 + a % 9,
                    "relation": relation,
                    "tail": tail,
                }
            else:
                record = {
                    "kind": "plain",
                    "head": rng.choice(NOUNS) + " " + rng.choice(NOUNS),
                    "relation": relation,
                    "tail": tail,
                }
            if i % 500 == 0:
                record["labels"] = {"plausible": bool(i % 2)}
            out.write(orjson.dumps(record) + b"\n")


def main() -> int:
    from benchmarks.production_switches import use_production_pipeline

    use_production_pipeline()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="plausi_bench")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--keep-file", action="store_true")
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(host=args.host, user=args.user, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = f"postgres://{args.user}@{args.host}:5432/{args.database}"
    import django

    django.setup()
    from django.core.management import call_command

    from knowledge.models import Candidate, IngestRun
    from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute

    call_command("migrate", verbosity=0)
    folder = Path(tempfile.mkdtemp(prefix="plausi-bench-"))
    path = folder / "candidates.jsonl.gz"
    started = time.perf_counter()
    generate(path, args.rows)
    print(
        f"generated {args.rows:,} lines ({path.stat().st_size / 1e6:.1f} MB gzipped) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    run = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source=IngestRun.Source.CLI)
    ingest_run_claim(run_id=run.pk)
    started = time.perf_counter()
    run = ingest_run_execute(run_id=run.pk)
    elapsed = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if run.status != "succeeded":
        print(f"FAILED: {run.message}", file=sys.stderr)
        return 1
    print(
        f"ingested {run.lines_valid:,} lines -> {Candidate.objects.count():,} candidates, "
        f"{run.products_created:,} products, {run.queries_created:,} queries, {run.pairs_created:,} pairs"
    )
    print(f"phases: {run.timings}")
    print(
        f"ingest time: {elapsed:.1f} s   rows/s: {run.lines_valid / elapsed:,.0f}   "
        f"peak RSS: {peak_rss:.0f} MB (before ingest: {rss_before:.0f} MB)"
    )
    ok = elapsed <= 60 and peak_rss < 500
    print(f"target (<= 60 s, < 500 MB for 1,000,000 rows): {'met' if ok else 'NOT met'}")
    if not args.keep_file:
        path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
