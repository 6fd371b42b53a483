#!/usr/bin/env python
"""Graph explorer benchmark: the latency of the explorer's API requests at 1,000,000 accepted edges.

    python benchmarks/graph_explorer.py                      # builds the graph (~2-4 min), then measures
    python benchmarks/graph_explorer.py --reuse-database     # measure the graph of an earlier run again
    python benchmarks/graph_explorer.py --edges 100000 --clients 8 --seconds 30

A fresh PostgreSQL database (``plausi_bench_graph``) is migrated and seeded with set-based SQL: one accepted
candidate per edge, 200,000 query, 50,000 product and 100,000 concept nodes with labels made of common words,
and edges with a realistic skew: heads (queries, 20% products) and tails drawn log-uniformly (degree about 1/rank,
Zipf-like), plus one hub concept that is the tail of 10% of all edges (100,000 in-edges at 1M); 12 relations,
20 categories, 100 approved review batches. Then gunicorn serves the real API (``config/gunicorn.py``, 3 gthread
workers x 4 threads, ``config.settings.test`` with DEBUG off, persistent connections) on loopback, and a few
concurrent clients (threads, each with one keep-alive connection and a curator's API token) send a mix of:

- search: ``GET /api/graph/nodes?search=<a word or a prefix of 3-6 letters>`` (a fifth with ``kind``);
- neighbourhood: of a random node with edges (``limit=25``), of the biggest hubs, of a hub filtered by relation
  and by category, and the hub's next page (``cursor``);
- edge: ``GET /api/graph/edges/{id}`` of a random edge.

p50/p95/p99 per kind are printed (target: p99 under 50 ms at 1M edges), and the graph summary (the page's
counts, one request) for reference.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
TARGET_P99_MS = 50
WORDS = [
    "warm",
    "dry",
    "comfortable",
    "grip",
    "walk",
    "run",
    "hike",
    "snow",
    "rain",
    "winter",
    "summer",
    "beach",
    "travel",
    "office",
    "party",
    "wedding",
    "baby",
    "kid",
    "gift",
    "kitchen",
    "cook",
    "bake",
    "coffee",
    "tea",
    "garden",
    "plant",
    "clean",
    "wash",
    "sleep",
    "rest",
    "read",
    "write",
    "draw",
    "paint",
    "music",
    "play",
    "game",
    "sport",
    "yoga",
    "gym",
    "swim",
    "bike",
    "camp",
    "fish",
    "climb",
    "ski",
    "skate",
    "dance",
    "sing",
    "work",
    "study",
    "school",
    "home",
    "car",
    "pet",
    "dog",
    "cat",
    "bird",
    "light",
    "heavy",
    "soft",
    "hard",
    "quick",
    "slow",
    "small",
    "large",
    "safe",
    "strong",
    "quiet",
    "bright",
    "dark",
    "fresh",
    "cold",
    "hot",
    "long",
    "short",
]


# --- the graph ------------------------------------------------------------------------------------------------

SEED_SQL = [
    # categories and the batches the edges were approved in
    "INSERT INTO knowledge_category (name) SELECT 'Category ' || i FROM generate_series(1, 20) i",
    """INSERT INTO curation_reviewbatch (status, relation_id, category_id, score_low, score_high, size, audit_size,
         audit_yes, audit_no, versions, half_width, decided_at, override_reason)
       SELECT 'approved', (SELECT min(id) FROM knowledge_relation), (SELECT min(id) FROM knowledge_category),
         0.5, 1.0, 10000, 60, 58, 2,
         '{"plausible": {"version": 3, "token": 3, "threshold": 0.5}, "typical": {"version": 4, "token": 4,
           "threshold": 0.5}}', 0.05, now(), ''
       FROM generate_series(1, 100)""",
    # nodes: labels of common words, so that a search finds many
    """CREATE TEMP TABLE words AS SELECT w, row_number() OVER () - 1 AS n FROM unnest(%(words)s::text[]) w""",
    """INSERT INTO curation_graphnode (kind, key, label)
       SELECT 'query', 'q' || i, a.w || ' ' || b.w || ' ' || c.w || ' ' || i
       FROM generate_series(1, %(queries)s) i
       JOIN words a ON a.n = i %% %(v)s JOIN words b ON b.n = (i / %(v)s) %% %(v)s
       JOIN words c ON c.n = (i / (%(v)s * %(v)s)) %% %(v)s""",
    """INSERT INTO curation_graphnode (kind, key, label)
       SELECT 'product', 'B' || lpad(i::text, 9, '0'), initcap(a.w) || ' ' || b.w || ' product ' || i
       FROM generate_series(1, %(products)s) i
       JOIN words a ON a.n = (i * 7) %% %(v)s JOIN words b ON b.n = (i / %(v)s) %% %(v)s""",
    """INSERT INTO curation_graphnode (kind, key, label)
       SELECT 'concept', 'c' || i, CASE WHEN i = 1 THEN 'be comfortable' ELSE
         'stay ' || a.w || ' and ' || b.w || ' ' || i END
       FROM generate_series(1, %(concepts)s) i
       JOIN words a ON a.n = (i * 3) %% %(v)s JOIN words b ON b.n = (i / %(v)s) %% %(v)s""",
    # one accepted candidate per edge
    """INSERT INTO knowledge_candidate (dedup_key, head_kind, head_text, relation_id, tail, tail_normalized,
         generator, prompt_id, support_count, known_labels, status)
       SELECT md5(i::text), 'plain', 'head ' || i, r.ids[1 + i %% array_length(r.ids, 1)], 'tail ' || i, 'tail ' || i,
         'bench', '', 1, '{}', 'accepted'
       FROM generate_series(1, %(edges)s) i,
         (SELECT array_agg(id ORDER BY id) AS ids FROM (SELECT id FROM knowledge_relation ORDER BY id LIMIT 12) x) r""",
    # edges: Zipf-like heads and tails (log-uniform rank), one hub concept with 10%% of them
    """INSERT INTO curation_acceptededge (candidate_id, head_id, relation_id, tail_id, category_id, product_id,
         score, batch_id, versions, audit, curator_id, accepted_at)
       SELECT c.id,
         CASE WHEN c.id %% 5 = 0 THEN p.first + floor(exp(random() * ln(%(products)s)))::int - 1
              ELSE q.first + floor(exp(random() * ln(%(queries)s)))::int - 1 END,
         c.relation_id,
         CASE WHEN c.id %% 10 = 0 THEN t.first ELSE t.first + floor(exp(random() * ln(%(concepts)s)))::int - 1 END,
         k.ids[1 + (c.id * 13) %% 20],
         p.first + (c.id * 31) %% %(products)s,
         0.5 + 0.5 * random(),
         b.first + c.id %% 100,
         '{"plausible": {"version": 3, "token": 3, "threshold": 0.5}}',
         '{"precision": 0.967, "wilson_low": 0.886, "wilson_high": 0.991, "audited": 60}',
         NULL, now() - (c.id %% 1000) * interval '1 minute'
       FROM knowledge_candidate c,
         (SELECT min(id) AS first FROM curation_graphnode WHERE kind = 'query') q,
         (SELECT min(id) AS first FROM curation_graphnode WHERE kind = 'product') p,
         (SELECT min(id) AS first FROM curation_graphnode WHERE kind = 'concept') t,
         (SELECT min(id) AS first FROM curation_reviewbatch) b,
         (SELECT array_agg(id ORDER BY id) AS ids FROM knowledge_category) k""",
]


def graph_build(*, database: str, edges: int, admin_url: dict[str, Any], database_url: str) -> None:
    import psycopg

    with psycopg.connect(**admin_url, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    _django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    sizes = {"edges": edges, "queries": edges // 5, "products": edges // 20, "concepts": edges // 10}
    with connection.cursor() as cursor:
        for statement in SEED_SQL:
            cursor.execute(statement, {**sizes, "words": WORDS, "v": len(WORDS)})
    print(f"seeded {edges:,} edges in {time.perf_counter() - started:.1f} s", flush=True)
    from benchmarks.annotation_load import database_settle

    database_settle(database=database, admin_url=admin_url)


def _django_setup(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = database_url
    import django

    django.setup()


def workload() -> dict[str, Any]:
    """What the clients ask for: hub ids (most in-edges), a sample of nodes with edges and of edge ids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tail_id, count(*) FROM curation_acceptededge GROUP BY tail_id ORDER BY count(*) DESC LIMIT 5"
        )
        hubs = cursor.fetchall()
        cursor.execute("SELECT min(id), max(id) FROM curation_acceptededge")
        low, high = cursor.fetchone()
        cursor.execute("SELECT head_id, tail_id FROM curation_acceptededge TABLESAMPLE SYSTEM (1) LIMIT 5000")
        ends = [node for row in cursor.fetchall() for node in row]
        cursor.execute("SELECT slug FROM knowledge_relation ORDER BY id LIMIT 12")
        relations = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT name FROM knowledge_category ORDER BY id")
        categories = [row[0] for row in cursor.fetchall()]
    return {
        "hubs": hubs,
        "edge_range": (low, high),
        "nodes": ends,
        "relations": relations,
        "categories": categories,
    }


def curator_token() -> str:
    from core.roles import Role
    from core.tokens import api_token_create
    from tests.factories import UserFactory

    user = UserFactory(username=f"bench-curator-{os.getpid()}-{int(time.time())}", role=Role.CURATOR.value)
    _token, key = api_token_create(user=user, name="graph benchmark")
    return key


# --- the clients ----------------------------------------------------------------------------------------------


class Client:
    def __init__(self, *, port: int, token: str, work: dict[str, Any], seed: int) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.work = work
        self.rng = random.Random(seed)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def get(self, kind: str, path: str, params: dict[str, Any] | None = None) -> Any:
        url = f"{path}?{urlencode(params)}" if params else path
        started = time.perf_counter()
        self.connection.request("GET", url, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        self.times[kind].append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            self.errors.append(f"{kind} {url}: {response.status} {body[:200]!r}")
            return None
        return orjson.loads(body)

    def step(self) -> None:
        rng, work = self.rng, self.work
        choice = rng.random()
        hub = work["hubs"][0][0]
        if choice < 0.25:
            word = rng.choice(WORDS)
            text = word if rng.random() < 0.5 else word[: rng.randint(3, max(3, len(word)))]
            params: dict[str, Any] = {"search": text, "limit": 15}
            if rng.random() < 0.2:
                params["kind"] = rng.choice(["query", "product", "concept"])
            self.get("search", "/api/graph/nodes", params)
        elif choice < 0.5:
            node = rng.choice(work["nodes"])
            self.get("neighbourhood (any node)", f"/api/graph/nodes/{node}/neighbourhood", {"limit": 25})
        elif choice < 0.6:
            node = rng.choice(work["hubs"])[0]
            self.get("neighbourhood (top-5 hubs)", f"/api/graph/nodes/{node}/neighbourhood", {"limit": 25})
        elif choice < 0.7:
            if rng.random() < 0.5:
                params = {"limit": 25, "relation": rng.choice(work["relations"])}
            else:
                params = {"limit": 25, "category": rng.choice(work["categories"])}
            self.get("neighbourhood (hub, filtered)", f"/api/graph/nodes/{hub}/neighbourhood", params)
        elif choice < 0.75:
            first = self.get("neighbourhood (hub, page 1)", f"/api/graph/nodes/{hub}/neighbourhood", {"limit": 25})
            cursor = first and first["next_cursor"]
            for _ in range(rng.randint(1, 5)):
                if not cursor:
                    break
                page = self.get(
                    "neighbourhood (hub, next pages)",
                    f"/api/graph/nodes/{hub}/neighbourhood",
                    {"limit": 25, "cursor": cursor},
                )
                cursor = page and page["next_cursor"]
        else:
            low, high = work["edge_range"]
            self.get("edge", f"/api/graph/edges/{rng.randint(low, high)}")

    def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                self.step()
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(repr(exc))
        finally:
            self.connection.close()


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def measure(*, port: int, token: str, work: dict[str, Any], clients: int, seconds: float) -> bool:
    runners = [Client(port=port, token=token, work=work, seed=i) for i in range(clients)]
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=runner.run, args=(deadline,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    times: dict[str, list[float]] = defaultdict(list)
    errors = [error for runner in runners for error in runner.errors]
    for runner in runners:
        for kind, values in runner.times.items():
            times[kind] += values
    total = sum(len(values) for values in times.values())
    print(f"\n{clients} concurrent clients for {seconds:.0f} s: {total:,} requests ({total / seconds:,.0f}/s)")
    print(f"{'request':34} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    worst = 0.0
    for kind in sorted(times):
        values = times[kind]
        p99 = _percentile(values, 99)
        worst = max(worst, p99)
        print(
            f"{kind:34} {len(values):7,} {_percentile(values, 50):8.1f} {_percentile(values, 95):8.1f} "
            f"{p99:8.1f} {max(values):8.1f}"
        )
    print(f"worst p99 {worst:.1f} ms (target: under {TARGET_P99_MS} ms)")
    for error in errors[:10]:
        print("error:", error)
    return not errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--database", default="plausi_bench_graph")
    parser.add_argument("--reuse-database", action="store_true")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--server", default="gthread:3:4", help="worker class:workers:threads")
    args = parser.parse_args()

    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}?conn_max_age=600"
    admin_url = {"host": HOST, "user": "postgres"}
    if args.reuse_database:
        _django_setup(database_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    else:
        graph_build(database=args.database, edges=args.edges, admin_url=admin_url, database_url=database_url)
    from curation.models import AcceptedEdge, GraphNode

    work = workload()
    print(
        f"graph: {AcceptedEdge.objects.count():,} edges, {GraphNode.objects.count():,} nodes; "
        f"biggest hubs (in-edges): {', '.join(f'{count:,}' for _node, count in work['hubs'])}",
        flush=True,
    )
    token = curator_token()
    from benchmarks.annotation_load import ServerConfig, WebServer

    (ROOT / "var").mkdir(exist_ok=True)
    server = WebServer(
        config=ServerConfig.parse(args.server), database_url=database_url, log_path=ROOT / "var" / "bench-graph.log"
    )
    try:
        server.wait_ready()
        print(f"server: gunicorn, {server.config.describe()}", flush=True)
        warm = Client(port=server.port, token=token, work=work, seed=999)
        warm.run(time.monotonic() + 5)  # every worker loads Django and opens its connection
        summary = Client(port=server.port, token=token, work=work, seed=1000)
        summary.get("summary", "/api/graph/summary")
        print(f"graph summary (the counts on /graph/, one request): {summary.times['summary'][0]:.0f} ms", flush=True)
        ok = measure(port=server.port, token=token, work=work, clients=args.clients, seconds=args.seconds)
    finally:
        server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
