"""The web process when the database cannot answer (core/unavailable.py), with real processes: a statement that
waits past ``WEB_STATEMENT_TIMEOUT`` on a lock held by another session is cancelled and answered 503 with
``Retry-After`` on the lean path, on the DRF path and on a page, and the same connections serve again once the lock
is gone; a database that cannot be reached at all is a 503 too. Not a 500, and not a thread held for as long as
the lock lasts."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from django.db import connection

from core.unavailable import RETRY_AFTER_SECONDS
from tests.conftest import ROOT, child_database_url, free_port, process_stop, web_live, web_spawn
from tests.factories import UserFactory, api_key_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TIMEOUT_SECONDS = 1.0


def _database_url(port: int | None = None) -> str:
    return child_database_url(port=port, query="conn_max_age=60&conn_health_checks=True")


def _web(name: str, database_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "WEB_STATEMENT_TIMEOUT": str(TIMEOUT_SECONDS),
    }
    log = ROOT / "var" / f"test-{name}.log"
    _offsets[name] = log.stat().st_size if log.exists() else 0  # the file is appended to, run after run
    web = web_spawn(env, port, f"test-{name}.log")
    url = f"http://127.0.0.1:{port}"

    try:
        assert web_live(url), (ROOT / "var" / f"test-{name}.log").read_text()
        yield url
    finally:
        process_stop(web)


@pytest.fixture
def web() -> Iterator[str]:
    yield from _web("web-unavailable", _database_url())


_offsets: dict[str, int] = {}


def _log(name: str) -> str:
    """What the web process of this test logged."""
    with (ROOT / "var" / f"test-{name}.log").open("rb") as log:
        log.seek(_offsets[name])
        return log.read().decode(errors="replace")


def _assert_unavailable(response: httpx.Response, *, json: bool) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    if json:
        assert response.headers["Content-Type"] == "application/json"
        assert "database is unavailable or too slow" in response.json()["detail"]
    else:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "try again" in response.text


def _csrf(client: httpx.Client) -> str:
    page = client.get("/login/")
    assert page.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def test_a_statement_past_the_web_timeout_is_answered_503_and_the_web_serves_again_after(web: str) -> None:
    annotator = UserFactory(role="annotator", username="locked-out")
    headers = {"Authorization": f"Token {api_key_for(annotator)}"}
    db = connection.settings_dict
    with httpx.Client(base_url=web, timeout=30) as client, httpx.Client(base_url=web, timeout=30) as browser:
        assert client.get("/api/annotation/next", headers=headers).status_code == 200  # connections are up
        token = _csrf(browser)
        login = {"username": "locked-out", "password": "wrong", "csrfmiddlewaretoken": token}
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as locker:
            # another session holds the tables every authenticated request reads, as a long migration would
            locker.execute("LOCK TABLE core_apitoken, auth_user IN ACCESS EXCLUSIVE MODE")
            observed: dict[str, float] = {}
            for name, send, json in (
                ("next (lean path)", lambda: client.get("/api/annotation/next", headers=headers), True),
                ("me (DRF)", lambda: client.get("/api/me/", headers=headers), True),
                ("login page", lambda: browser.post("/login/", data=login, headers={"Referer": web}), False),
            ):
                started = time.monotonic()
                response = send()
                observed[name] = time.monotonic() - started
                _assert_unavailable(response, json=json)
            locker.rollback()
        assert all(TIMEOUT_SECONDS * 0.9 <= seconds < 10 for seconds in observed.values()), observed
        # the cancelled statements left the web's connections usable: the same requests succeed now
        assert client.get("/api/annotation/next", headers=headers).status_code == 200
        assert client.get("/api/me/", headers=headers).json()["username"] == "locked-out"
        again = browser.post("/login/", data=login, headers={"Referer": web})
        assert again.status_code == 200 and "locked-out" in again.text  # the form again, with its error
    log = _log("web-unavailable")
    assert log.count("Service Unavailable (database)") == 3  # logged with its traceback, under the request's id
    assert "Service Unavailable: /" not in log  # once: not a second time by django.request's 5xx line
    assert "canceling statement due to statement timeout" in log
    assert " 500 " not in log and "Internal Server Error" not in log


def test_a_database_that_cannot_be_reached_is_answered_503_not_500() -> None:
    annotator = UserFactory(role="annotator")
    headers = {"Authorization": f"Token {api_key_for(annotator)}"}
    for url in _web("web-no-database", _database_url(port=free_port())):  # nothing listens there
        with httpx.Client(base_url=url, timeout=30) as client:
            _assert_unavailable(client.get("/api/annotation/next", headers=headers), json=True)
            _assert_unavailable(client.get("/api/me/", headers=headers), json=True)
            assert client.get("/healthz/ready").status_code == 503  # as before: readiness says so
    assert "Service Unavailable (database)" in _log("web-no-database")


def test_every_operation_of_the_schema_lists_the_503(tmp_path: Any) -> None:
    import yaml
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    missing = [
        (method, path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "503" not in operation["responses"]
    ]
    assert not missing and paths


@pytest.mark.sqlite
def test_on_sqlite_a_write_that_cannot_get_the_lock_is_answered_503_and_stores_nothing(api_client_for: Any) -> None:
    """The embedded default (``make demo``): another process holds SQLite's write lock past the connection's busy
    timeout ("database is locked"); the answer is a 503 that stored nothing, and the same request succeeds once the
    lock is gone."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's lock; PostgreSQL's cases run the web process above")
    import sqlite3

    from annotation.models import Answer
    from annotation.services import queue_fill
    from tests.factories import CandidateFactory

    CandidateFactory(status="pooled")
    queue_fill()
    client = api_client_for("annotator")
    step = client.get("/api/annotation/next").json()["step"]
    payload = {"assignment": step["assignment"], "question": "complete", "value": True, "idempotency_key": "k-1"}
    connection.close()
    options = connection.settings_dict["OPTIONS"]
    busy_timeout = options["timeout"]
    options["timeout"] = 0.3  # the demo waits 30 s (config/settings/base.py: sqlite_options)
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the demo's worker writing, as it would for minutes
        refused = client.post("/api/annotation/answers", payload, format="json")
        assert refused.status_code == 503, refused.content
        assert refused["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert "database is unavailable or too slow" in refused.json()["detail"]
        other.execute("ROLLBACK")
        assert not Answer.objects.exists()
        stored = client.post("/api/annotation/answers", payload, format="json")
        assert stored.status_code == 201 and Answer.objects.count() == 1
    finally:
        other.close()
        connection.close()
        options["timeout"] = busy_timeout


@pytest.mark.sqlite
@pytest.mark.django_db
def test_on_sqlite_a_schema_that_does_not_match_the_code_is_a_500_not_an_unavailable_database() -> None:
    """SQLite reports a missing table or column (a database not migrated) as an OperationalError, like a lock:
    only the lock is worth a retry, so only it is a 503."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's errors; PostgreSQL reports a schema mismatch as a ProgrammingError")
    from django.db import OperationalError

    from core.unavailable import database_unavailable

    for statement in ("SELECT * FROM no_such_table_here", "SELECT no_such_column FROM django_migrations"):
        with pytest.raises(OperationalError) as raised, connection.cursor() as cursor:
            cursor.execute(statement)
        assert not database_unavailable(raised.value), raised.value
    assert database_unavailable(OperationalError("database is locked"))
