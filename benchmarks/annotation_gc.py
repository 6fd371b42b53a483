#!/usr/bin/env python
"""Garbage-collector cost of the annotation hot path, in-process: prints the figures behind config/gc_warm_freeze.py
and core.api.fast.ReleaseCyclesMixin (docs/annotation.md).

    python benchmarks/annotation_gc.py                       # a fresh database of 50,000 pooled candidates
    python benchmarks/annotation_gc.py --reuse-database

One annotator answers through Django's WSGI handler, as a gunicorn worker runs it (no test client, which keeps
references of its own), on a PostgreSQL database built by benchmarks/annotation_load.py's builder. After the
application is loaded the collector is frozen, as config/gunicorn.py does at start-up. Printed:

1. the objects the first requests leave for the collector to walk, and the CPU time of a full collection, before
   and after one more collect-and-freeze (what the workers now do after 100, 1,000 and 10,000 requests);
2. the objects each answer leaves in reference cycles (only the collector frees them), by type;
3. CPU time per answer (``time.thread_time``) and the collections, by generation, over ``--answers`` answers.
"""

from __future__ import annotations

import argparse
import collections
import gc
import io
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import annotation_load as load  # noqa: E402  (the database builder and the payloads of the load benchmark)


class Annotator:
    """One annotator answering through a WSGI application, as a gunicorn worker calls it."""

    def __init__(self, application: Any, token: str, known: dict[int, dict[str, bool]]) -> None:
        self.application = application
        self.token = token
        self.known = known
        self.rng = random.Random(1)
        self.step: dict[str, Any] | None = None

    def _call(self, method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": load.HOST,
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": load.HOST,
            "REMOTE_ADDR": load.HOST,
            "HTTP_AUTHORIZATION": f"Token {self.token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        status: list[str] = []
        result = self.application(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            return status[0], b"".join(result)
        finally:
            result.close()

    def answer(self) -> None:
        if self.step is None:
            _status, body = self._call("GET", load.NEXT_PATH)
            self.step = orjson.loads(body)["step"]
            if self.step is None:
                raise SystemExit("the queue ran dry: build a larger database (--candidates)")
        payload = orjson.dumps(load._answer_payload(self.step, self.rng, self.known))
        status, body = self._call("POST", load.ANSWER_PATH, payload)
        self.step = orjson.loads(body)["step"] if status.startswith("20") else None


def full_collection_ms() -> float:
    started = time.thread_time()
    gc.collect()
    return (time.thread_time() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=50_000)
    parser.add_argument("--database", default="plausi_bench_gc")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--reuse-database", action="store_true")
    parser.add_argument("--answers", type=int, default=1000)
    args = parser.parse_args()

    database_url = f"postgres://{args.user}@{args.host}:5432/{args.database}?conn_max_age=600"
    if args.reuse_database:
        load._django_setup(database_url)
    else:
        admin_url = {"host": args.host, "user": args.user}
        load.database_build(
            database=args.database, candidates=args.candidates, admin_url=admin_url, database_url=database_url
        )
    from django.core.wsgi import get_wsgi_application

    print(f"code under test: {load._code_version()}")
    application = get_wsgi_application()
    gc.collect()
    gc.freeze()  # as config/gunicorn.py's post_worker_init, once the application is loaded
    ((_pk, token),) = load.annotators_create(f"bench-gc-{uuid.uuid4().hex[:6]}", 1)
    annotator = Annotator(application, token, load.gold_known_labels())

    print("\n== 1. full collections: what the first requests leave for the collector ==")
    for _ in range(300):
        annotator.answer()
    gc.collect()
    print(f"after 300 answers: {len(gc.get_objects()):,} objects tracked outside the frozen ones")
    print(f"  a full collection: {full_collection_ms():.1f} ms of CPU")
    gc.freeze()  # what config/gc_warm_freeze.py does after 100, 1,000 and 10,000 requests
    for _ in range(300):
        annotator.answer()
    gc.collect()
    print(f"after one more collect-and-freeze and 300 answers: {len(gc.get_objects()):,} objects tracked")
    print(f"  a full collection: {full_collection_ms():.1f} ms of CPU")

    print("\n== 2. objects each answer leaves in reference cycles ==")
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    sample = 50
    for _ in range(sample):
        annotator.answer()
    gc.collect()
    garbage = [type(obj).__qualname__ for obj in gc.garbage]
    gc.garbage.clear()
    gc.set_debug(0)
    print(f"{len(garbage) / sample:.1f} objects per answer")
    for name, count in collections.Counter(garbage).most_common(12):
        print(f"  {count / sample:6.1f}  {name}")

    print(f"\n== 3. CPU per answer and collections over {args.answers:,} answers ==")
    collections_by_generation: collections.Counter[int] = collections.Counter()
    collection_cpu = [0.0]
    started_at = [0.0]

    def tally(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started_at[0] = time.thread_time()
        else:
            collections_by_generation[info["generation"]] += 1
            collection_cpu[0] += time.thread_time() - started_at[0]

    gc.set_threshold(7000, 10, 10)  # config/gunicorn.py's
    gc.callbacks.append(tally)
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(args.answers):
        annotator.answer()
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    gc.callbacks.remove(tally)
    print(
        f"{cpu * 1000 / args.answers:.2f} ms of CPU per answer ({wall * 1000 / args.answers:.2f} ms wall, the rest "
        f"waiting for PostgreSQL); collections: {dict(sorted(collections_by_generation.items())) or 'none'}, "
        f"{collection_cpu[0] * 1000 / args.answers:.3f} ms of CPU per answer"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
