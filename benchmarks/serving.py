#!/usr/bin/env python
"""Serving benchmark: prints the figures of issue 19's knowledge serving (docs/serving.md).

    flock /tmp/bench.lock python benchmarks/serving.py                    # 1,000,000 accepted edges
    flock /tmp/bench.lock python benchmarks/serving.py --edges 100000     # a quick run
    flock /tmp/bench.lock python benchmarks/serving.py --reuse-database   # the graph of an earlier run

A fresh PostgreSQL database (``plausi_bench_serving``) gets a synthetic accepted graph written with SQL (the
curation path is not what is measured): 100,000 queries each bought with one product (search -> buy pairs),
co-buy pairs over the same products, eight accepted edges per pair (so ``--edges`` / 8 pairs, 80% searches), each
with a score and a batch's provenance. ``manage.py serving_rebuild``'s service then materialises the feature store
(timed). gunicorn serves config.wsgi (the lean path for single-key GETs: serving/fast.py) on loopback with
persistent database connections, as benchmarks/annotation_load.py starts it; client processes on the same
machine keep one keep-alive ``http.client`` connection per simulated client.

1. known keys: --clients (50) clients GET /api/serving/query/?query=... of random known queries for --seconds,
   first with no think time (the capacity; target >= 1,500 requests/s), then offered --known-rate (1,500)
   requests/s in all, for the p99 at that load (target < 20 ms; a closed loop with no think time measures
   queueing: its mean latency is clients / throughput);
2. batches: --batch-clients clients POST /api/serving/lookup/ with 100 random known keys of all four kinds, no
   think time (target >= 200 requests/s);
3. misses: --miss-clients clients offered --miss-rate (100) misses/s in all, each a never-seen query (it claims
   its key and enqueues a generation through the outbox and the broker; no worker runs): p99 (target < 20 ms);
4. storm: 100 threads GET the same never-seen query at once (a barrier): p99 and how many generations were
   enqueued for it (must be exactly 1).

Each scenario prints a SUMMARY line with the CPU of the client, gunicorn and PostgreSQL and of the other processes
on the machine (it is shared: figures of runs with different values do not compare). Wrap runs in
``flock /tmp/bench.lock``. The broker messages of the misses are removed from Redis at the end.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import multiprocessing
import os
import random
import resource
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.annotation_load import HOST, CpuMeter, ServerConfig, WebServer, _django_setup  # noqa: E402

EDGES_PER_PAIR = 8
TARGET_KNOWN_RPS = 1500
TARGET_BATCH_RPS = 200
TARGET_P99_MS = 20.0


# --- the load generator (client processes; no Django) ------------------------------------------------------


@dataclass
class Result:
    ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, other: Result) -> None:
        self.ms += other.ms
        self.errors.update(other.errors)
        self.cpu_seconds += other.cpu_seconds
        self.statuses.update(other.statuses)


class RawConnection:
    """A keep-alive HTTP/1.1 connection that sends prepared bytes and reads a Content-Length response: a few tens
    of microseconds of the client's CPU per request where ``http.client`` takes a few hundred (the load generator
    shares the server's two cores)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection((HOST, self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lowered = head.lower()
        at = lowered.find(b"\r\ncontent-length:")
        if at < 0:
            raise ConnectionError("no Content-Length")
        end = lowered.find(b"\r\n", at + 2)
        length = int(lowered[at + 17 : end if end >= 0 else len(lowered)])
        while len(rest) < length:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("closed by the server")
            rest += chunk
        self.buffer = rest[length:]
        if b"\r\nconnection: close" in lowered:
            self.close()
        return int(head[9:12]), rest[:length]


def _client_loop(spec: dict[str, Any], index: int, out: Result, lock: threading.Lock) -> None:
    rng = random.Random(spec["seed"] * 1000 + index)
    connection = RawConnection(spec["port"])
    auth = f"Host: {HOST}\r\nAuthorization: Token {spec['token']}\r\n".encode()
    local = Result()
    queries, products, co_pairs = spec["queries"], spec["products"], spec["co_pairs"]
    interval = spec["interval"]
    counter = 0
    next_at = spec["start"] + (rng.random() * interval if interval else 0.0)
    while time.time() < spec["start"]:
        time.sleep(0.01)
    while time.time() < spec["deadline"]:
        if interval:  # paced: one request every ``interval`` s (late requests are sent at once, not skipped)
            wait = next_at - time.time()
            if wait > 0:
                time.sleep(wait)
            next_at += interval
        counter += 1
        body = None
        if spec["kind"] == "known":
            method, path = "GET", "/api/serving/query/?" + urlencode({"query": rng.choice(queries)})
        elif spec["kind"] == "miss":
            method = "GET"
            path = "/api/serving/query/?" + urlencode({"query": f"never seen {spec['seed']} {index} {counter}"})
        else:
            method, path = "POST", "/api/serving/lookup/"
            keys: list[dict[str, str]] = []
            for _ in range(100):
                number = rng.randrange(len(queries))
                kind = rng.random()
                if kind < 0.4:
                    keys.append({"query": queries[number]})
                elif kind < 0.7:
                    keys.append({"product": products[number]})
                elif kind < 0.9:
                    keys.append({"query": queries[number], "product": products[number]})
                else:
                    first, second = co_pairs[number % len(co_pairs)]
                    keys.append({"product": second, "other_product": first})
            body = orjson.dumps({"keys": keys})
        if body is None:
            request = f"{method} {path} HTTP/1.1\r\n".encode() + auth + b"\r\n"
        else:
            request = (
                f"{method} {path} HTTP/1.1\r\n".encode()
                + auth
                + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        sent = time.perf_counter()
        try:
            status, _answer = connection.exchange(request)
        except (OSError, ValueError) as exc:
            local.errors[type(exc).__name__] += 1
            connection.close()
            continue
        elapsed = (time.perf_counter() - sent) * 1000
        if time.time() >= spec["measure_from"]:
            local.ms.append(elapsed)
            local.statuses[status] += 1
    connection.close()
    with lock:
        out.add(local)


def client_process(spec: dict[str, Any]) -> Result:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    before = usage.ru_utime + usage.ru_stime
    out = Result()
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_client_loop, args=(spec, index, out, lock), daemon=True)
        for index in range(spec["clients"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, spec["deadline"] - time.time()) + 60)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.cpu_seconds = usage.ru_utime + usage.ru_stime - before
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the database -----------------------------------------------------------------------------------------


GRAPH_SQL = [
    "INSERT INTO knowledge_category (name) SELECT 'Category ' || i FROM generate_series(1, 50) i",
    "INSERT INTO knowledge_product (external_id, title, category_id, attributes) "
    "SELECT 'B' || lpad(i::text, 8, '0'), 'Product ' || i || ' of the catalogue', "
    "(SELECT min(id) FROM knowledge_category) + i %% 50, '{}' FROM generate_series(1, %(products)s) i",
    "INSERT INTO knowledge_searchquery (text, normalized_text) "
    "SELECT 'Query ' || i || ' winter', 'query ' || i || ' winter' FROM generate_series(1, %(queries)s) i",
    # search -> buy: query i with product i; co-buy: product i with product i + 1
    "INSERT INTO knowledge_behaviourpair (kind, key, query_id, product_id, observation_count) "
    "SELECT 'search_buy', md5('s' || q.id), q.id, q.id, 1 FROM knowledge_searchquery q",  # fresh ids: 1..n both
    "INSERT INTO knowledge_behaviourpair (kind, key, product_id, other_product_id, observation_count) "
    "SELECT 'co_buy', md5('c' || p.id), p.id, o.id, 1 FROM knowledge_product p "
    "JOIN knowledge_product o ON o.id = p.id + 1 WHERE p.id %% 4 = 0 LIMIT %(co_pairs)s",
    "INSERT INTO knowledge_candidate (dedup_key, head_kind, pair_id, head_text, relation_id, tail, tail_normalized, "
    "generator, prompt_id, support_count, known_labels, status) "
    "SELECT md5(bp.id || '-' || n), bp.kind, bp.id, '', r.ids[1 + (bp.id + n) %% array_length(r.ids, 1)], "
    "'tail ' || ((bp.id * 7 + n * 13) %% 20000), 'tail ' || ((bp.id * 7 + n * 13) %% 20000), 'bench', '', 1, '{}', "
    "'accepted' FROM knowledge_behaviourpair bp CROSS JOIN generate_series(1, %(per_pair)s) n "
    "CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM knowledge_relation) r",
    "INSERT INTO curation_graphnode (kind, key, label) "
    "SELECT 'query', normalized_text, text FROM knowledge_searchquery",
    "INSERT INTO curation_graphnode (kind, key, label) SELECT 'product', external_id, title FROM knowledge_product",
    "INSERT INTO curation_graphnode (kind, key, label) "
    "SELECT DISTINCT 'concept', tail_normalized, tail FROM knowledge_candidate",
    "INSERT INTO curation_reviewbatch (status, score_low, score_high, size, audit_size, audit_yes, audit_no, "
    "versions, half_width, created_at, override_reason) VALUES ('approved', 0.5, 1.0, 0, 0, 0, 0, "
    '\'{"plausible": {"version": 1, "token": 1, "threshold": 0.5}, '
    '"typical": {"version": 2, "token": 2, "threshold": 0.5}}\', 0.05, now(), \'\')',
    "INSERT INTO curation_acceptededge (candidate_id, head_id, relation_id, tail_id, category_id, product_id, score, "
    "batch_id, versions, audit, accepted_at) "
    "SELECT c.id, COALESCE(hq.id, hp.id), c.relation_id, t.id, p.category_id, hp.id, "
    "0.5 + ((c.id * 37) %% 500) / 1000.0, b.id, b.versions, '{}', now() "
    "FROM knowledge_candidate c JOIN knowledge_behaviourpair bp ON bp.id = c.pair_id "
    "JOIN knowledge_product p ON p.id = bp.product_id "
    "JOIN curation_graphnode hp ON hp.kind = 'product' AND hp.key = p.external_id "
    "LEFT JOIN knowledge_searchquery q ON q.id = bp.query_id "
    "LEFT JOIN curation_graphnode hq ON hq.kind = 'query' AND hq.key = q.normalized_text "
    "JOIN curation_graphnode t ON t.kind = 'concept' AND t.key = c.tail_normalized "
    "CROSS JOIN (SELECT id, versions FROM curation_reviewbatch LIMIT 1) b",
]


def database_build(*, database: str, edges: int, admin_url: dict[str, Any], database_url: str) -> None:
    import psycopg

    with psycopg.connect(**admin_url, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    _django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    pairs = max(1, edges // EDGES_PER_PAIR)
    searches = int(pairs * 0.8)
    params = {
        "products": searches + 2,
        "queries": searches,
        "co_pairs": pairs - searches,
        "per_pair": EDGES_PER_PAIR,
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in GRAPH_SQL:
            cursor.execute(statement, params)
        cursor.execute("SELECT count(*) FROM curation_acceptededge")
        made = cursor.fetchone()[0]
    connection.close()
    with psycopg.connect(**admin_url, dbname=database, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")
    print(f"graph: {made:,} accepted edges over {pairs:,} pairs written in {time.perf_counter() - started:.1f} s")


def store_build() -> float:
    from serving.services import serving_store_rebuild

    started = time.perf_counter()
    snapshot = serving_store_rebuild()
    seconds = time.perf_counter() - started
    print(
        f"feature store: snapshot {snapshot.pk}, {snapshot.keys_changed:,} keys ({snapshot.edges:,} edge entries) "
        f"built in {seconds:.1f} s (serving_rebuild's service)",
        flush=True,
    )
    return seconds


def serving_client() -> str:
    from core.roles import Role
    from core.tokens import api_token_create
    from knowledge.services import user_create

    user, _password = user_create(username="bench-serving", role=Role.SERVING, reset_existing=True)
    _token, key = api_token_create(user=user, name="bench")
    return key


def known_keys(limit: int = 20000) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT q.text, p.external_id FROM knowledge_behaviourpair bp JOIN knowledge_searchquery q ON "
            "q.id = bp.query_id JOIN knowledge_product p ON p.id = bp.product_id WHERE bp.kind = 'search_buy' "
            "ORDER BY md5(bp.id::text) LIMIT %s",
            [limit],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT p.external_id, o.external_id FROM knowledge_behaviourpair bp JOIN knowledge_product p ON "
            "p.id = bp.product_id JOIN knowledge_product o ON o.id = bp.other_product_id WHERE bp.kind = 'co_buy' "
            "ORDER BY md5(bp.id::text) LIMIT %s",
            [limit],
        )
        co_pairs = [(a, b) for a, b in cursor.fetchall()]
    return [r[0] for r in rows], [r[1] for r in rows], co_pairs


# --- the scenarios ----------------------------------------------------------------------------------------


def scenario(
    name: str,
    *,
    kind: str,
    gunicorn: WebServer,
    token: str,
    clients: int,
    seconds: float,
    processes: int,
    keys: tuple[list[str], list[str], list[tuple[str, str]]],
    target: str,
    rps_target: float | None,
    p99_target: float | None,
    rate: float = 0.0,
) -> bool:
    """``clients`` keep-alive clients for ``seconds``: with no think time (``rate`` 0, a capacity) or each sending
    one request every ``clients / rate`` s (an offered load of ``rate`` requests/s, for latency)."""
    from django.db import connection

    connection.close()
    processes = max(1, min(processes, clients))
    start = time.time() + 3.0
    measure_from = start + 2.0  # 2 s of warm-up per scenario
    deadline = measure_from + seconds
    specs = []
    for number in range(processes):
        share = clients // processes + (1 if number < clients % processes else 0)
        specs.append(
            {
                "kind": kind,
                "port": gunicorn.port,
                "token": token,
                "clients": share,
                "seed": number + 1,
                "start": start,
                "measure_from": measure_from,
                "deadline": deadline,
                "queries": keys[0],
                "products": keys[1],
                "co_pairs": keys[2],
                "interval": clients / rate if rate else 0.0,
            }
        )
    meter = CpuMeter(gunicorn)
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pending = pool.map_async(client_process, specs)
        time.sleep(max(0.0, measure_from - time.time()))
        meter.start()
        results = pending.get(timeout=seconds + 120)
    server = meter.stop()
    machine = meter.machine()
    merged = Result()
    for result in results:
        merged.add(result)
    achieved = len(merged.ms) / seconds
    p50, p99 = _percentile(merged.ms, 50), _percentile(merged.ms, 99)
    client_cores = merged.cpu_seconds / (seconds + 2.0)
    web_cores = db_cores = others = float("nan")
    if server is not None and machine is not None:
        web_cores, db_cores = server[0] / seconds, server[1] / seconds
        others = max(0.0, machine[0] - client_cores - web_cores - db_cores)
    ok_status = set(merged.statuses) <= {200}
    ok = ok_status and not merged.errors
    ok_target = (rps_target is None or achieved >= rps_target) and (p99_target is None or p99 < p99_target)
    offered = f"offered {rate:,.0f}/s" if rate else "no think time"
    print(
        f"{name} ({offered}): {len(merged.ms):,} requests in {seconds:.0f} s = {achieved:,.1f} requests/s; "
        f"p50 {p50:.2f} ms, p95 {_percentile(merged.ms, 95):.2f} ms, p99 {p99:.2f} ms, "
        f"max {max(merged.ms or [0]):.1f} ms"
    )
    print(
        f"  statuses {dict(merged.statuses)}, errors {dict(merged.errors) or 'none'}; target: {target} "
        f"({'met' if ok_target else 'NOT met'})"
    )
    print(
        f"  SUMMARY | {name} | {clients} clients, {offered} | {achieved:,.1f} requests/s | "
        f"p50 {p50:.2f} / p99 {p99:.2f} ms | "
        f"client {client_cores:.2f} cores, gunicorn {web_cores:.2f}, PostgreSQL {db_cores:.2f} | "
        f"other processes {others:.2f} cores (of {os.cpu_count()}) | checks {'ok' if ok else 'FAILED'}",
        flush=True,
    )
    return ok


def storm(gunicorn: WebServer, token: str, *, size: int = 100) -> bool:
    """``size`` threads, one connection each, GET the same never-seen key at once; one generation must be queued."""
    from core.models import OutboxMessage
    from serving.keys import key_parse
    from serving.models import GeneratedKnowledge
    from serving.services import GENERATE_TASK

    text = f"storm key {time.time_ns()}"
    connections = [http.client.HTTPConnection(HOST, gunicorn.port, timeout=30) for _ in range(size)]
    for connection in connections:
        connection.connect()
    barrier = threading.Barrier(size)
    ms: list[float] = []
    answers: list[Any] = []
    lock = threading.Lock()

    def one(connection: http.client.HTTPConnection) -> None:
        barrier.wait(timeout=30)
        sent = time.perf_counter()
        connection.request(
            "GET", "/api/serving/query/?" + urlencode({"query": text}), headers={"Authorization": f"Token {token}"}
        )
        response = connection.getresponse()
        body = orjson.loads(response.read())
        with lock:
            ms.append((time.perf_counter() - sent) * 1000)
            answers.append((response.status, body.get("pending")))

    threads = [threading.Thread(target=one, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for connection in connections:
        connection.close()
    entry = GeneratedKnowledge.objects.filter(key=key_parse({"query": text}).key).first()
    enqueued = OutboxMessage.objects.filter(task=GENERATE_TASK, args=[entry.pk, 1]).count() if entry is not None else 0
    all_pending = all(status == 200 and pending for status, pending in answers) and len(answers) == size
    ok = enqueued == 1 and all_pending
    print(
        f"storm: {size} concurrent misses for one key: p50 {_percentile(ms, 50):.1f} ms, p99 {_percentile(ms, 99):.1f} "
        f"ms, max {max(ms or [0]):.1f} ms; all answered 200 pending: {all_pending}; generations enqueued: {enqueued}"
    )
    print(f"  SUMMARY | storm | {size} concurrent misses | enqueued {enqueued} | checks {'ok' if ok else 'FAILED'}")
    return ok


def broker_forget() -> None:
    """Remove the generation messages the misses published (no worker consumes them here)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--database", default="plausi_bench_serving")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--reuse-database", action="store_true", help="Keep the graph and store of an earlier run.")
    parser.add_argument("--server", default="gthread:3:4", help="worker class:workers:threads (default %(default)s)")
    parser.add_argument("--processes", type=int, default=3, help="Client processes (default %(default)s).")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--batch-clients", type=int, default=20)
    parser.add_argument("--miss-clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--known-rate", type=float, default=1500, help="Offered load of the latency scenario.")
    parser.add_argument("--miss-rate", type=float, default=100, help="Offered misses/s (each a new key).")
    parser.add_argument("--scenario", choices=["known", "batch", "miss", "storm", "all"], nargs="*", default=["all"])
    args = parser.parse_args()
    admin_url = {"host": args.host, "user": args.user}
    database_url = f"postgres://{args.user}@{args.host}:5432/{args.database}?conn_max_age=600"
    if args.reuse_database:
        _django_setup(database_url)
        from django.db import connection as setup_connection

        with setup_connection.cursor() as cursor:  # what a rebuild leaves: visibility map, hint bits, statistics
            cursor.execute("VACUUM (ANALYZE) serving_servingentry")
    else:
        database_build(database=args.database, edges=args.edges, admin_url=admin_url, database_url=database_url)
        store_build()
    token = serving_client()
    keys = known_keys()
    from django.db import connection

    connection.close()
    gunicorn = WebServer(
        config=ServerConfig.parse(args.server), database_url=database_url, log_path=ROOT / "var" / "bench-serving.log"
    )
    chosen = set(args.scenario)
    every = "all" in chosen
    ok = True
    try:
        gunicorn.wait_ready()
        print(
            f"server: gunicorn {ServerConfig.parse(args.server).describe()}, {args.processes} client processes, "
            f"{os.cpu_count()} cores on this machine",
            flush=True,
        )
        # what every scenario shares: the server, the token, the client processes and the keys
        measure = functools.partial(scenario, gunicorn=gunicorn, token=token, processes=args.processes, keys=keys)
        if every or "known" in chosen:
            ok &= measure(
                "known keys, capacity",
                kind="known",
                clients=args.clients,
                seconds=args.seconds,
                target=f">= {TARGET_KNOWN_RPS:,}/s",
                rps_target=TARGET_KNOWN_RPS,
                p99_target=None,
            )
            ok &= measure(
                f"known keys at {args.known_rate:,.0f}/s",
                kind="known",
                clients=args.clients,
                seconds=args.seconds,
                target=f">= {TARGET_KNOWN_RPS:,}/s with p99 < {TARGET_P99_MS:g} ms",
                rps_target=TARGET_KNOWN_RPS * 0.98,
                p99_target=TARGET_P99_MS,
                rate=args.known_rate,
            )
        if every or "batch" in chosen:
            ok &= measure(
                "batches of 100 keys",
                kind="batch",
                clients=args.batch_clients,
                seconds=args.seconds,
                target=f">= {TARGET_BATCH_RPS}/s",
                rps_target=TARGET_BATCH_RPS,
                p99_target=None,
            )
        if every or "miss" in chosen:
            ok &= measure(
                "misses",
                kind="miss",
                clients=args.miss_clients,
                seconds=min(args.seconds, 10),
                target=f"p99 < {TARGET_P99_MS:g} ms",
                rps_target=None,
                p99_target=TARGET_P99_MS,
                rate=args.miss_rate,
            )
        if every or "storm" in chosen:
            ok &= storm(gunicorn, token)
    finally:
        gunicorn.stop()
        broker_forget()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
