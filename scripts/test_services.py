#!/usr/bin/env python3
"""Make sure the real PostgreSQL and Redis that the tests use are running (standard library only).

Uses them when they answer; starts the local ones when they are installed but stopped; otherwise exits 1 and
says how to get them. Addresses: TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/plausi) and
TEST_CELERY_BROKER_URL (default redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/plausi")
REDIS_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if reachable(host, port):
            return True
        time.sleep(0.3)
    return False


def start_postgres() -> bool:
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and clusters.is_dir():
        for version in sorted(os.listdir(clusters)):
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
        return True
    if shutil.which("pg_ctl") and os.environ.get("PGDATA"):
        subprocess.run(["pg_ctl", "start", "-w", "-D", os.environ["PGDATA"]], check=False)
        return True
    return False


def start_redis(port: int) -> bool:
    if not shutil.which("redis-server"):
        return False
    log_dir = Path("/var/log/redis") if os.access("/var/log/redis", os.W_OK) else Path("/tmp")
    work_dir = Path("/var/lib/redis") if os.access("/var/lib/redis", os.W_OK) else Path("/tmp")
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work_dir),
            "--logfile",
            str(log_dir / "plausi-test.log"),
        ],
        check=False,
    )
    return True


def ensure(name: str, host: str, port: int, start: object, how: str) -> bool:
    if reachable(host, port):
        print(f"{name}: reachable at {host}:{port}")
        return True
    print(f"{name}: not reachable at {host}:{port}; trying to start the local one...")
    started = start()  # type: ignore[operator]
    if started and wait_for(host, port):
        print(f"{name}: started")
        return True
    print(f"{name}: NOT AVAILABLE. {how}", file=sys.stderr)
    return False


def main() -> int:
    database = urlparse(DATABASE_URL)
    redis = urlparse(REDIS_URL)
    ok = ensure(
        "PostgreSQL",
        database.hostname or "127.0.0.1",
        database.port or 5432,
        start_postgres,
        "Install and start it (Debian: apt-get install postgresql && pg_ctlcluster 15 main start) with a "
        "'postgres' role that may create databases, or point TEST_DATABASE_URL at one.",
    )
    port = redis.port or 6379
    ok = (
        ensure(
            "Redis",
            redis.hostname or "127.0.0.1",
            port,
            lambda: start_redis(port),
            "Install and start it (Debian: apt-get install redis-server && redis-server --daemonize yes), "
            "or point TEST_CELERY_BROKER_URL at one.",
        )
        and ok
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
