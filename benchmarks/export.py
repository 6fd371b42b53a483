#!/usr/bin/env python
"""Export benchmark: 1,000,000 accepted edges to JSON Lines in at most 30 s with a peak RSS under 300 MB.

    python benchmarks/export.py                       # builds the pool like the annotation benchmark (~2 min)
    python benchmarks/export.py --reuse-database      # keep the database of an earlier run
    python benchmarks/export.py --formats jsonl,neo4j,ntriples

Every pooled candidate of the benchmark database is accepted with set-based SQL (graph nodes for queries,
products, other heads and normalised tails; one edge per candidate with provenance), then each format is exported
by ``manage.py export_graph`` in a child process, whose wall time and peak RSS are printed.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def accept_everything() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE curation_acceptededge, curation_graphnode RESTART IDENTITY CASCADE")
        cursor.execute(
            "INSERT INTO curation_graphnode (kind, key, label) "
            "SELECT 'query', left(normalized_text, 500), left(text, 1000) FROM knowledge_searchquery "
            "UNION ALL SELECT 'product', left(external_id, 500), left(COALESCE(NULLIF(title, ''), external_id), 1000) "
            "FROM knowledge_product "
            "UNION ALL SELECT DISTINCT ON (left(head_text, 500)) 'head', left(head_text, 500), left(head_text, 1000) "
            "FROM knowledge_candidate WHERE head_kind = 'plain' "
            "UNION ALL SELECT DISTINCT ON (left(tail_normalized, 500)) 'concept', left(tail_normalized, 500), "
            "left(tail, 1000) FROM knowledge_candidate"
        )
        cursor.execute("ANALYZE curation_graphnode")
        cursor.execute(
            "INSERT INTO curation_acceptededge (candidate_id, head_id, relation_id, tail_id, category_id, product_id, "
            "score, versions, audit, accepted_at) "
            "SELECT c.id, COALESCE(qn.id, pn.id, hn.id), c.relation_id, tn.id, p.category_id, pn.id, 0.9, "
            '\'{"typical": {"version": 1, "token": 1}}\', \'{"precision": 0.95}\', now() '
            "FROM knowledge_candidate c "
            "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
            "LEFT JOIN knowledge_searchquery q ON q.id = b.query_id "
            "LEFT JOIN knowledge_product p ON p.id = b.product_id "
            "LEFT JOIN curation_graphnode qn ON qn.kind = 'query' AND qn.key = left(q.normalized_text, 500) "
            "LEFT JOIN curation_graphnode pn ON pn.kind = 'product' AND pn.key = left(p.external_id, 500) "
            "LEFT JOIN curation_graphnode hn ON hn.kind = 'head' AND hn.key = left(c.head_text, 500) "
            "AND c.head_kind = 'plain' "
            "JOIN curation_graphnode tn ON tn.kind = 'concept' AND tn.key = left(c.tail_normalized, 500)"
        )
        edges = cursor.rowcount
        cursor.execute("UPDATE knowledge_candidate SET status = 'accepted'")
        cursor.execute("ANALYZE curation_acceptededge")
    return edges


def main() -> int:
    from benchmarks.production_switches import use_production_pipeline

    use_production_pipeline()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--database", default="plausi_bench_export")
    parser.add_argument("--reuse-database", action="store_true")
    parser.add_argument("--formats", default="jsonl", help="Comma-separated: jsonl, neo4j, ntriples.")
    args = parser.parse_args()

    from benchmarks.annotation_load import _django_setup, database_build

    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["PRIVATE_MEDIA_ROOT"] = str(ROOT / "var" / "bench-export")
    started = time.perf_counter()
    if args.reuse_database:
        _django_setup(database_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    else:
        database_build(
            database=args.database,
            candidates=args.candidates,
            admin_url={"host": "127.0.0.1", "user": "postgres"},
            database_url=database_url,
        )
    from curation.models import AcceptedEdge

    edges = AcceptedEdge.objects.count()
    if edges < args.candidates:
        started = time.perf_counter()
        edges = accept_everything()
        print(f"accepted {edges:,} edges (set-based SQL) in {time.perf_counter() - started:.1f} s", flush=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": database_url,
        "PRIVATE_MEDIA_ROOT": os.environ["PRIVATE_MEDIA_ROOT"],
    }
    for fmt in args.formats.split(","):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "manage.py", "export_graph", "--format", fmt, "--no-progress"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if result.returncode != 0:
            print(result.stdout, result.stderr)
            return 1
        size = re.search(r"\(([\d,]+) bytes", result.stdout)
        target = " (target: <= 30 s, < 300 MB)" if fmt == "jsonl" else ""
        print(
            f"{fmt}: {edges:,} edges in {seconds:.1f} s = {edges / seconds:,.0f} edges/s, "
            f"{size.group(1) if size else '?'} bytes, peak RSS {max(peak, before) / 1024:.0f} MB{target}",
            flush=True,
        )
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
