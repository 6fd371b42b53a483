"""Faults with real processes: gunicorn, a Celery worker and the outbox relay (the production topology, with
persistent health-checked database connections) survive a PostgreSQL restart and a Redis outage.

- PostgreSQL is restarted with ``pg_ctlcluster`` (root or the postgres user on a Debian cluster; skipped, saying
  why, where that is not possible). The test's own queues live in a Redis database of their own, so a worker left
  running by other tests cannot take its tasks.
- Redis is a private ``redis-server`` on a free port (the machine's shared Redis is never stopped): it is killed
  while annotators answer and started again on the same port.
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from django.conf import settings
from django.db import connection

from annotation.models import Answer
from annotation.services import queue_fill
from core.models import OutboxMessage
from knowledge.models import IngestRun
from tests.conftest import (
    child_database_url,
    free_port,
    process_stop,
    search_buy,
    spawn_logged,
    start_celery_worker,
    stop_celery_worker,
    wait_until,
    web_spawn,
)
from tests.factories import TEST_PASSWORD, CandidateFactory, UserFactory, api_key_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PERSISTENT = "conn_max_age=60&conn_health_checks=True"  # as config/settings/production.py sets them


def _database_url() -> str:
    return child_database_url(query=PERSISTENT)


class Stack:
    """The web process (2 workers x 2 threads), one Celery worker and the outbox relay, on one broker."""

    def __init__(self, *, broker_url: str, cache_url: str = "", name: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "TEST_DATABASE_URL": _database_url(),
            "TEST_CELERY_BROKER_URL": broker_url,
            "TEST_CACHE_URL": cache_url,
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "2",
        }
        self.web = web_spawn(self.env, self.port, f"test-{name}-web.log")
        self.relay = spawn_logged(
            [sys.executable, "manage.py", "outbox_relay", "--interval", "0.5"], self.env, f"test-{name}-relay.log"
        )
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            self.worker = start_celery_worker(
                queues="default,cpu", log_name=f"test-{name}-worker.log", extra_env=self.env
            )
        except BaseException:
            process_stop(self.web)
            process_stop(self.relay)
            raise
        if not wait_until(self._up, timeout=60):
            self.stop()
            raise AssertionError(f"the web process did not start: see var/test-{name}-web.log")

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        process_stop(self.web)
        process_stop(self.relay)
        stop_celery_worker(self.worker)


class Annotator:
    """An API client answering through ``next`` and ``answers``; it records every status and every key stored."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=30)
        self.statuses: list[int] = []
        self.acknowledged: dict[str, int] = {}
        self.step: dict[str, Any] | None = None

    def answer(self, count: int) -> None:
        for _ in range(count):
            if self.step is None:
                response = self.client.get("/api/annotation/next")
                self.statuses.append(response.status_code)
                assert response.status_code == 200, response.text
                self.step = response.json()["step"]
                assert self.step is not None, "the queue ran dry"
            key = uuid.uuid4().hex
            response = self.client.post(
                "/api/annotation/answers",
                json={
                    "assignment": self.step["assignment"],
                    "question": self.step["question"]["slug"],
                    "value": True,
                    "idempotency_key": key,
                },
            )
            self.statuses.append(response.status_code)
            assert response.status_code == 201, response.text
            self.acknowledged[key] = response.json()["answer"]
            self.step = response.json()["step"]


def _pool_and_annotator(candidates: int = 60) -> str:
    CandidateFactory.create_batch(candidates, status="pooled")
    queue_fill()
    user = UserFactory(role="annotator", username="outage-annotator")
    return api_key_for(user)


def _log_in_and_open_the_home_page(url: str) -> list[int]:
    """A session login (its rate limiter counts in the cache) and the home page (its counts are cached)."""
    with httpx.Client(base_url=url, timeout=30) as browser:
        statuses = [browser.get("/login/").status_code]
        response = browser.post(
            "/login/",
            data={
                "username": "outage-annotator",
                "password": TEST_PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{url}/login/"},
        )
        statuses.append(response.status_code)
        assert response.status_code == 302, response.text  # logged in, sent on
        home = browser.get("/")
        statuses.append(home.status_code)
        assert home.status_code == 200 and "outage-annotator" in home.text
    return statuses


def _upload(url: str, admin_token: str, tail: str) -> int:
    data = gzip.compress(orjson.dumps(search_buy(tail=tail)) + b"\n")
    response = httpx.post(
        f"{url}/api/ingest/",
        headers={"Authorization": f"Token {admin_token}"},
        files={"files": ("candidates.jsonl.gz", data)},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def _succeeded(run_id: int) -> bool:
    connection.close()  # a fresh connection each poll: the test's own connection may predate a restart
    return IngestRun.objects.filter(pk=run_id, status="succeeded").exists()


def _stored_once(annotator: Annotator) -> None:
    connection.close()
    stored = dict(
        Answer.objects.filter(idempotency_key__in=list(annotator.acknowledged)).values_list("idempotency_key", "pk")
    )
    assert stored == annotator.acknowledged  # every acknowledged answer stored once, under the id it was given


def _postgres_cluster() -> tuple[str, str] | None:
    """(version, name) of the local Debian cluster on the test database's port, when this user may restart it."""
    if shutil.which("pg_ctlcluster") is None or (os.geteuid() not in (0,) and os.environ.get("USER") != "postgres"):
        return None
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
    port = str(connection.settings_dict.get("PORT") or 5432)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == port and fields[3] == "online":
            return fields[0], fields[1]
    return None


@pytest.fixture
def admin_token() -> str:
    return api_key_for(UserFactory(role="admin"))


@pytest.fixture
def own_broker() -> Iterator[str]:
    """A Redis database of the shared server that no other test's worker listens to."""
    url = "redis://127.0.0.1:6379/12"
    yield url
    import redis

    client = redis.Redis.from_url(url)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


def test_the_web_a_worker_and_the_relay_recover_from_a_postgresql_restart(admin_token: str, own_broker: str) -> None:
    cluster = _postgres_cluster()
    if cluster is None:
        pytest.skip("needs a local Debian PostgreSQL cluster on the test port and root (pg_ctlcluster) to restart it")
    token = _pool_and_annotator()
    stack = Stack(broker_url=own_broker, name="pg-restart")
    annotator = Annotator(stack.url, token)
    try:
        annotator.answer(6)
        before = _upload(stack.url, admin_token, "keep feet warm on ice")
        assert wait_until(lambda: _succeeded(before), timeout=60)

        subprocess.run(["pg_ctlcluster", *cluster, "restart"], check=True, timeout=120, capture_output=True)
        connection.close()

        # Every persistent connection of the web process died with the server; each request must notice that
        # (the health check) and reconnect, so that not one of them fails. Enough requests to reach every
        # thread of both web workers.
        annotator.answer(24)
        after = _upload(stack.url, admin_token, "stay dry in the rain")
        assert wait_until(lambda: _succeeded(after), timeout=90), "the worker did not recover: see var/"
        assert httpx.get(f"{stack.url}/healthz", timeout=5).status_code == 200
        assert stack.relay.poll() is None and stack.web.poll() is None and stack.worker.poll() is None
    finally:
        stack.stop()
    assert all(status < 500 for status in annotator.statuses)
    _stored_once(annotator)


def test_annotators_answer_through_a_redis_outage_and_queued_work_runs_once_redis_is_back(admin_token: str) -> None:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server to run a private Redis")
    port = free_port()
    redis_command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    redis_process = spawn_logged(redis_command, dict(os.environ), "test-redis-outage-redis.log")
    assert wait_until(lambda: _accepts(port), timeout=10)
    token = _pool_and_annotator()
    stack = Stack(
        broker_url=f"redis://127.0.0.1:{port}/0", cache_url=f"redis://127.0.0.1:{port}/1", name="redis-outage"
    )
    annotator = Annotator(stack.url, token)
    try:
        annotator.answer(5)
        annotator.statuses += _log_in_and_open_the_home_page(stack.url)

        redis_process.kill()
        redis_process.wait(timeout=10)
        annotator.answer(15)  # no error while Redis is down: answers need neither the cache nor the broker
        annotator.statuses += _log_in_and_open_the_home_page(stack.url)  # the cache fails open
        waiting = _upload(stack.url, admin_token, "keep feet warm on ice")  # accepted: its message waits
        connection.close()
        assert IngestRun.objects.get(pk=waiting).status == "queued"
        assert OutboxMessage.objects.filter(sent_at__isnull=True).exists()
        # still ready (the outbox keeps the work), and the body names the broker as down
        health = httpx.get(f"{stack.url}/healthz/ready", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "degraded", health.text
        assert health.json()["broker"]["status"] == "error"
        time.sleep(2)  # the relay and the worker try, and fail, a few times
        assert IngestRun.objects.get(pk=waiting).status == "queued"

        redis_process = spawn_logged(redis_command, dict(os.environ), "test-redis-outage-redis.log")
        assert wait_until(lambda: _accepts(port), timeout=10)
        # nobody steps in: the relay publishes the waiting message and the worker, reconnected, runs it
        assert wait_until(lambda: _succeeded(waiting), timeout=90), "see var/test-redis-outage-*.log"
        annotator.answer(5)
        assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    finally:
        stack.stop()
        process_stop(redis_process)
    assert all(status < 500 for status in annotator.statuses)
    _stored_once(annotator)
    assert IngestRun.objects.filter(pk=waiting, candidates_created=1).exists()  # ran once


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
