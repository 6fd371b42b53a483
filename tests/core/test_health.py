"""The health checks over HTTP against a running server: liveness never depends on anything; readiness (and
``/healthz``) is 503 only when the database is unreachable, and a broker outage (which the outbox absorbs) is
reported as ``degraded`` with 200, so a load balancer keeps sending annotators to a web process that works."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.db import connections

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _dead_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def broker_down() -> Iterator[None]:
    """The live server (a thread of this process) sees a broker URL pointing at a dead port."""
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{_dead_port()}/0"
    app._pool = None
    try:
        yield
    finally:
        app.conf.broker_url = original
        app._pool = None


@pytest.fixture
def database_down() -> Iterator[None]:
    """New database connections (the live server opens one per request thread) go to a dead port; the test
    thread keeps its open connection for the teardown."""
    original = connections.settings["default"]
    connections.settings["default"] = {**original, "HOST": "127.0.0.1", "PORT": str(_dead_port())}
    try:
        yield
    finally:
        connections.settings["default"] = original


def _get(live_server: Any, path: str) -> httpx.Response:
    return httpx.get(f"{live_server.url}{path}", timeout=30)


def test_every_health_check_is_200_when_the_database_and_the_broker_answer(live_server: Any) -> None:
    assert _get(live_server, "/healthz/live").json() == {"status": "ok"}
    for path in ("/healthz", "/healthz/ready"):
        response = _get(live_server, path)
        body = response.json()
        assert response.status_code == 200, (path, body)
        assert body["status"] == "ok" and body["database"]["status"] == "ok" and body["broker"]["status"] == "ok"
        assert "no-cache" in response.headers["Cache-Control"]


def test_a_broker_outage_keeps_the_web_ready_and_says_degraded(live_server: Any, broker_down: None) -> None:
    for path in ("/healthz", "/healthz/ready"):
        response = _get(live_server, path)
        body = response.json()
        assert response.status_code == 200, (path, body)
        assert body["status"] == "degraded", body
        assert body["broker"]["status"] == "error" and body["broker"]["error"], body
        assert body["database"]["status"] == "ok", body
    assert _get(live_server, "/healthz/live").status_code == 200


def test_an_unreachable_database_makes_the_web_not_ready_but_still_alive(live_server: Any, database_down: None) -> None:
    for path in ("/healthz", "/healthz/ready"):
        response = _get(live_server, path)
        body = response.json()
        assert response.status_code == 503, (path, body)
        assert body["status"] == "error" and body["database"]["status"] == "error", body
    live = _get(live_server, "/healthz/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_the_liveness_check_answers_with_both_dependencies_down(
    live_server: Any, broker_down: None, database_down: None
) -> None:
    assert _get(live_server, "/healthz/live").status_code == 200
    assert _get(live_server, "/healthz/ready").status_code == 503
