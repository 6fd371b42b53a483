#!/usr/bin/env python
"""In-process cost of ``GET /api/annotation/next`` when both steps are already leased (the API protocol's usual
``next``), through ``config.wsgi``'s application (the lean path, annotation/fast.py), one annotator, no server.

    python benchmarks/annotation_load.py --candidates 100000 --pool tied --scenario none --profile-answers 0
    python benchmarks/next_held.py                       # then this, on the database that run left
    cd ../other-checkout && python /path/to/benchmarks/next_held.py   # the same on another checkout's code

It prints the wall time and this process's CPU time per request (medians of ``--rounds`` rounds of ``--requests``
requests after 200 unmeasured ones, so that psycopg has prepared its statements), and the SQL statements one such
request sends. The code measured is the current directory's (put first on ``sys.path``), so two checkouts can be
compared in one session, alternately. PostgreSQL's own time per statement is in neither figure.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.getcwd())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="plausi_bench_annotation")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}?conn_max_age=600"

    from django.db import connection

    from benchmarks.annotation_load import QueryRecorder, annotators_create
    from config.wsgi import application

    ((_pk, token),) = annotators_create(f"next-held-{os.getpid()}", 1)

    def next_request() -> None:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/annotation/next",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {token}",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        statuses: list[str] = []
        b"".join(application(environ, lambda status, headers, exc_info=None: statuses.append(status)))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"GET next answered {statuses[0]}")

    for _ in range(200):
        next_request()
    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        next_request()
    wall, cpu = [], []
    for _ in range(args.rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            next_request()
        wall.append((time.perf_counter() - started) * 1000 / args.requests)
        cpu.append((time.process_time() - started_cpu) * 1000 / args.requests)
    print(
        f"{os.getcwd()}: GET next, both steps held: {recorder.total} SQL statements; per request (median of "
        f"{args.rounds} x {args.requests}) wall {statistics.median(wall):.3f} ms, "
        f"process CPU {statistics.median(cpu):.3f} ms"
    )


if __name__ == "__main__":
    main()
