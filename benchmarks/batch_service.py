#!/usr/bin/env python
"""Review batch service benchmark (issue 20): the real ``review_batches_create`` and what follows it, in PostgreSQL.

    python benchmarks/batch_service.py                      # 100,000 scored candidates (seeding ~30 s)
    python benchmarks/batch_service.py --pool 1000000
    python benchmarks/batch_service.py --reuse-database     # the pool of an earlier run, its batches undone
    python benchmarks/batch_service.py --profile            # also cProfile of the batch forming and the approval

``benchmarks/batch_formation.py`` simulates the planning; this one times the services on a database. A fresh
PostgreSQL database (``plausi_bench_batches``) is migrated and seeded with set-based SQL:

- the 15 seeded relations and 400 categories, both drawn Zipf-like (weight 1 / rank^1.1, as the simulation);
- 20,000 products (a category each, Zipf-like; 1% without one), queries and search_buy behaviour pairs (two
  products per query, pool / 5 pairs, so five candidates per pair);
- N candidates, status ``scored``, and two active classifier versions (the ``TARGETS``), with one score per
  candidate and target, skewed high: 0.5 + 0.5 * u^(1/5), i.e. 0.5 + 0.5 * Beta(5, 1).

Then, with nothing warmed up (a new process, VACUUM ANALYZE and a checkpoint after the load), in order:

1. ``curation_queue()``: the queue's figures, planned on the pool's ``GROUP BY``;
1b. ``review_batches_create(seed=1, max_batches=BATCHES_PER_CALL)``, what the page's button and a POST without
   ``max_batches`` do (the plan's first 10 batches; only their relations are read), then undone;
2. ``review_batches_create(seed=1)`` of the whole pool: seconds, batches, strata, members, audit size, and the
   process's peak RSS (``getrusage``, before and after);
3. ``batch_detail`` (the batch page's data) of the largest batch;
4. its whole audit sample answered through ``audit_answer``, one call per answer as a curator sends them
   (95% Yes): p50/p99 per answer;
5. ``batch_decide(approve=True)`` of that batch (its candidates become accepted edges), and of another batch of
   several strata with its smallest stratum excluded (``exclude_strata``) after answering its sample too.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PRODUCTS = 20_000
CATEGORIES = 400
ZIPF_EXPONENT = 1.1
NO_CATEGORY = 0.01  # products without a category: the "no category" strata
YES = 0.95  # a curator's answer
LOOKUP = 100_000  # slots of the inverse-CDF arrays that draw Zipf-like ranks in SQL

# A Zipf-like draw in SQL: an array of LOOKUP ids in which each id fills a share of the slots equal to its weight
# 1 / rank^s (the slots whose midpoints fall in its interval of the cumulative weights), indexed by a uniform random
# slot: one array lookup per row, no join per row.
_ZIPF_ARRAY = """
    SELECT array_agg(id ORDER BY slot) FROM (
      SELECT id, generate_series(ceil(lo * {slots} - 0.5)::int, ceil(hi * {slots} - 0.5)::int - 1) AS slot
      FROM (SELECT id, sum(weight) OVER (ORDER BY rank) / sum(weight) OVER () AS hi,
                   (sum(weight) OVER (ORDER BY rank) - weight) / sum(weight) OVER () AS lo
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank,
                         1 / power(row_number() OVER (ORDER BY id), {s}) AS weight FROM {table}) ranked) w) slots
"""

SEED_SQL = [
    "SELECT setseed(0.2)",  # the same pool every run (random() of this session; the INSERTs run in no worker)
    f"""INSERT INTO knowledge_category (name) SELECT 'Category ' || lpad(i::text, 3, '0')
        FROM generate_series(1, {CATEGORIES}) i""",
    "CREATE TEMP TABLE zipf (name text PRIMARY KEY, ids bigint[])",
    "INSERT INTO zipf VALUES ('category', ("
    + _ZIPF_ARRAY.format(slots=LOOKUP, s=ZIPF_EXPONENT, table="knowledge_category")
    + "))",
    "INSERT INTO zipf VALUES ('relation', ("
    + _ZIPF_ARRAY.format(slots=LOOKUP, s=ZIPF_EXPONENT, table="knowledge_relation")
    + "))",
    f"""INSERT INTO knowledge_product (external_id, title, category_id, attributes)
        SELECT 'B' || lpad(i::text, 9, '0'), 'Product ' || i,
          CASE WHEN random() < {NO_CATEGORY} THEN NULL ELSE z.ids[1 + floor(random() * {LOOKUP})::int] END, '{{}}'
        FROM generate_series(1, {PRODUCTS}) i, zipf z WHERE z.name = 'category'""",
    """INSERT INTO knowledge_searchquery (text, normalized_text)
       SELECT 'Query ' || i, 'query ' || i FROM generate_series(1, %(queries)s) i""",
    # two products per query: pair i buys product (i * 7919) mod P after query (i + 1) / 2
    f"""INSERT INTO knowledge_behaviourpair (kind, key, query_id, product_id, observation_count)
        SELECT 'search_buy', md5('pair ' || i), q.first + (i - 1) / 2, p.first + (i::bigint * 7919) %% {PRODUCTS},
          1 + floor(10 * random())::int
        FROM generate_series(1, %(pairs)s) i,
          (SELECT min(id) AS first FROM knowledge_searchquery) q,
          (SELECT min(id) AS first FROM knowledge_product) p""",
    f"""INSERT INTO knowledge_candidate (dedup_key, head_kind, pair_id, head_text, relation_id, tail,
          tail_normalized, generator, prompt_id, support_count, known_labels, status)
        SELECT md5('candidate ' || i), 'search_buy', b.first + (i - 1) %% %(pairs)s, '',
          z.ids[1 + floor(random() * {LOOKUP})::int], 'tail ' || i, 'tail ' || i, 'bench', '', 1, '{{}}', 'scored'
        FROM generate_series(1, %(pool)s) i, zipf z, (SELECT min(id) AS first FROM knowledge_behaviourpair) b
        WHERE z.name = 'relation'""",
    # one score per candidate and target: 0.5 + 0.5 * Beta(5, 1) (inverse CDF u^(1/5))
    """INSERT INTO classifiers_candidatescore (candidate_id, target, model_version_id, version_token, score)
       SELECT c.id, v.target, v.id, v.version_token, 0.5 + 0.5 * power(random(), 0.2)
       FROM knowledge_candidate c CROSS JOIN classifiers_modelversion v WHERE v.is_active""",
]

# What a run leaves behind, undone for --reuse-database (the seeded pool stays).
RESET_SQL = [
    "TRUNCATE curation_acceptededge, curation_graphnode, curation_batchmember, curation_batchstratum, "
    "curation_curationevent, curation_reviewbatch, annotation_consolidatedlabel, annotation_newlabelcount "
    "RESTART IDENTITY CASCADE",
    "UPDATE knowledge_candidate SET status = 'scored' WHERE status <> 'scored'",
]


def _django_setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = database_url
    import django

    django.setup()


def pool_build(*, database: str, pool: int, admin_url: dict[str, Any], database_url: str) -> None:
    """Drop and recreate the database, migrate, and seed the scored pool."""
    import psycopg

    with psycopg.connect(**admin_url, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    _django_setup(database_url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from classifiers.models import ModelVersion

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    with transaction.atomic():
        for token, target in enumerate(settings.PLAUSI_CLASSIFIERS["TARGETS"], start=1):
            ModelVersion.objects.create(
                target=target,
                kind="tfidf_lr",
                artifact=f"bench/{target}",
                threshold=0.5,
                is_active=True,
                version_token=token,
                activated_at=timezone.now(),
            )
        sizes = {"pool": pool, "pairs": max(2, pool // 5), "queries": max(1, pool // 10)}
        with connection.cursor() as cursor:
            for statement in SEED_SQL:
                cursor.execute(statement, sizes if "%(" in statement else None)
    print(f"seeded {pool:,} scored candidates in {time.perf_counter() - started:.1f} s", flush=True)


def pool_reset(*, database: str, database_url: str) -> None:
    _django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for statement in RESET_SQL:
            cursor.execute(statement)
    print(f"reset the pool of {database} (batches, edges, labels and events removed)", flush=True)


def pool_shape() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT c.relation_id), count(DISTINCT p.category_id), "
            "count(*) FILTER (WHERE p.category_id IS NULL) FROM knowledge_candidate c "
            "JOIN knowledge_behaviourpair b ON b.id = c.pair_id JOIN knowledge_product p ON p.id = b.product_id"
        )
        total, relations, categories, uncategorised = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM knowledge_candidate GROUP BY relation_id ORDER BY 1 DESC LIMIT 1")
        biggest_relation = cursor.fetchone()[0]
        cursor.execute("SELECT avg(score), min(score) FROM classifiers_candidatescore")
        mean, low = cursor.fetchone()
    return (
        f"pool: {total:,} scored candidates, {relations} relations (largest {biggest_relation:,}), "
        f"{categories} categories ({uncategorised:,} without one), score mean {mean:.3f}, min {low:.3f}"
    )


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _profiled(enabled: bool, label: str, call: Any) -> Any:
    if not enabled:
        return call()
    profile = cProfile.Profile()
    result = profile.runcall(call)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
    print(f"\n--- cProfile: {label} (cumulative) ---\n{out.getvalue()}", flush=True)
    return result


def answer_all(*, batch: Any, curator: Any, rng: random.Random) -> list[float]:
    """Answer the batch's whole audit sample through ``audit_answer``, one call per answer; ms per answer."""
    from curation.models import BatchMember
    from curation.services import audit_answer

    sample = list(
        BatchMember.objects.filter(batch=batch, in_audit=True)
        .order_by("stratum_id", "-score", "candidate_id")
        .values_list("candidate_id", flat=True)
    )
    times = []
    for candidate_id in sample:
        started = time.perf_counter()
        audit_answer(batch_id=batch.pk, candidate_id=candidate_id, value=rng.random() < YES, curator=curator)
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(*, profile: bool) -> list[tuple[str, str]]:
    """Time the services in order on the seeded pool; returns the table's (figure, value) rows."""
    from django.db import connection
    from django.db.models import Count

    from core.roles import Role
    from curation.models import BatchMember, ReviewBatch
    from curation.selectors import batch_detail, batches, curation_queue
    from curation.services import batch_decide, batches_per_call, review_batches_create
    from tests.factories import UserFactory

    rows: list[tuple[str, str]] = []
    curator = UserFactory(username=f"bench-curator-{os.getpid()}", role=Role.CURATOR.value)

    started = time.perf_counter()
    queue = curation_queue()
    seconds = time.perf_counter() - started
    print(
        f"1. curation_queue(): {seconds * 1000:.0f} ms: {queue['unbatched']:,} unbatched, "
        f"{queue['batches_needed']} batches and {queue['audit_needed_unbatched']:,} audit answers needed",
        flush=True,
    )
    rows.append(("`curation_queue()` (planning on the pool's GROUP BY)", f"{seconds * 1000:,.0f} ms"))

    per_call = batches_per_call()
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    first = review_batches_create(seed=1, max_batches=per_call)
    seconds = time.perf_counter() - started
    formed = sum(batch.size for batch in first)
    print(
        f"1b. review_batches_create(seed=1, max_batches={per_call}) (the button's call): {seconds:.2f} s: "
        f"{len(first)} batches, {formed:,} members; peak RSS {_peak_rss_mb():.0f} MB",
        flush=True,
    )
    rows.append(
        (
            f"`review_batches_create(max_batches={per_call})`, the button's and the POST's call",
            f"{seconds:.2f} s ({len(first)} batches, {formed:,} members; peak RSS {_peak_rss_mb():.0f} MB)",
        )
    )
    with connection.cursor() as cursor:  # undone: the whole pool is formed at once next
        for statement in RESET_SQL:
            cursor.execute(statement)

    started = time.perf_counter()
    created = _profiled(profile, "review_batches_create", lambda: review_batches_create(seed=1))
    seconds = time.perf_counter() - started
    rss_after = _peak_rss_mb()
    members = BatchMember.objects.count()
    strata = sum(batch.strata.count() for batch in created)
    audit = sum(batch.audit_size for batch in created)
    print(
        f"2. review_batches_create(seed=1): {seconds:.2f} s: {len(created)} batches, {strata:,} strata, "
        f"{members:,} members ({members / seconds:,.0f}/s), audit sample {audit:,}; "
        f"peak RSS {rss_before:.0f} MB before, {rss_after:.0f} MB after",
        flush=True,
    )
    rows += [
        (
            "`review_batches_create(seed=1)`, the whole pool at once (`manage.py create_batches`)",
            f"{seconds:.2f} s ({members / seconds:,.0f} members/s)",
        ),
        ("batches / strata / members", f"{len(created)} / {strata:,} / {members:,}"),
        ("audit sample (all batches)", f"{audit:,}"),
        ("peak RSS of the process, before / after", f"{rss_before:.0f} MB / {rss_after:.0f} MB"),
    ]

    by_size = list(
        ReviewBatch.objects.annotate(n_strata=Count("strata")).order_by("-size", "id").values_list("pk", "n_strata")
    )
    largest_id = by_size[0][0]
    started = time.perf_counter()
    detail = batch_detail(batches().get(pk=largest_id))
    seconds = time.perf_counter() - started
    largest = detail["batch"]
    print(
        f"3. batch_detail of batch {largest.pk} ({largest.size:,} candidates, {len(detail['strata'])} strata, "
        f"{len(detail['audit'])} audit items): {seconds * 1000:.0f} ms",
        flush=True,
    )
    rows.append(
        (
            f"`batch_detail` of the largest batch ({largest.size:,} candidates, {len(detail['audit'])} audit items)",
            f"{seconds * 1000:,.0f} ms",
        )
    )

    rng = random.Random(1)
    started = time.perf_counter()
    times = answer_all(batch=largest, curator=curator, rng=rng)
    seconds = time.perf_counter() - started
    p50, p99 = _percentile(times, 50), _percentile(times, 99)
    print(
        f"4. audit_answer x {len(times)}: {seconds:.1f} s; per answer p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"mean {statistics.fmean(times):.1f} ms, max {max(times):.1f} ms",
        flush=True,
    )
    rows.append((f"`audit_answer` per answer ({len(times)} answers), p50 / p99", f"{p50:.1f} ms / {p99:.1f} ms"))

    started = time.perf_counter()
    decided = _profiled(
        profile, "batch_decide", lambda: batch_decide(batch_id=largest.pk, approve=True, curator=curator)
    )
    seconds = time.perf_counter() - started
    accepted = decided.edges.count()
    print(
        f"5. batch_decide(approve=True) of batch {largest.pk}: {seconds:.2f} s, {accepted:,} accepted edges",
        flush=True,
    )
    rows.append((f"`batch_decide(approve=True)` ({accepted:,} edges accepted)", f"{seconds:.2f} s"))

    other = next(((pk, n) for pk, n in by_size[1:] if n > 1), None)
    if other is None:
        print("   no other batch has more than one stratum: no approval with exclude_strata", flush=True)
        return rows
    batch = batches().get(pk=other[0])
    answer_all(batch=batch, curator=curator, rng=rng)
    smallest = batch.strata.order_by("size", "id").first()
    assert smallest is not None
    started = time.perf_counter()
    decided = batch_decide(batch_id=batch.pk, approve=True, curator=curator, exclude_strata=[smallest.pk])
    seconds = time.perf_counter() - started
    accepted = decided.edges.count()
    print(
        f"   batch_decide(approve=True, exclude_strata=[1 of {other[1]}]) of batch {batch.pk} "
        f"({batch.size:,} candidates, {smallest.size:,} excluded): {seconds:.2f} s, {accepted:,} accepted edges",
        flush=True,
    )
    rows.append(
        (
            f"`batch_decide(approve=True, exclude_strata=…)` ({batch.size:,} candidates, 1 of {other[1]} strata "
            f"with {smallest.size:,} excluded, {accepted:,} accepted)",
            f"{seconds:.2f} s",
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=int, default=100_000, help="Scored candidates.")
    parser.add_argument("--database", default="plausi_bench_batches")
    parser.add_argument("--reuse-database", action="store_true", help="Undo an earlier run's batches and reuse.")
    parser.add_argument("--profile", action="store_true", help="cProfile the batch forming and the approval.")
    args = parser.parse_args()

    database_url = f"postgres://postgres@{HOST}:5432/{args.database}"
    admin_url = {"host": HOST, "user": "postgres"}
    total = time.perf_counter()
    if args.reuse_database:
        pool_reset(database=args.database, database_url=database_url)
    else:
        pool_build(database=args.database, pool=args.pool, admin_url=admin_url, database_url=database_url)
    from benchmarks.annotation_load import database_settle

    database_settle(database=args.database, admin_url=admin_url)
    print(pool_shape(), flush=True)
    rows = measure(profile=args.profile)
    print("\n| figure | value |\n|---|---|")
    for figure, value in rows:
        print(f"| {figure} | {value} |")
    print(f"\ntotal {time.perf_counter() - total:.0f} s (seeding included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
