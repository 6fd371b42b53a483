"""Oversized bodies, the schema and expensive endpoints (issue 17), over HTTP against a running server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.core.cache import cache

from tests.factories import UserFactory, api_key_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
GIB = 1024**3
# The start of a well-formed multipart body: a parser that reads it goes on reading (and spooling) the file part.
START_OF_A_FILE_PART = b'------x\r\nContent-Disposition: form-data; name="files"; filename="big.jsonl"\r\n\r\n'


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def declare_a_huge_body(base: str, path: str, content_type: str, headers: str = "") -> str:
    """Send the headers of a 1 GiB POST and 64 KiB of it, then wait for an answer: the status line, or "" when
    the server is still reading (it would read the whole gigabyte before answering)."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {address.hostname}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {GIB}\r\n{headers}\r\n"
            ).encode()
            + START_OF_A_FILE_PART
            + b"a" * 65536
        )
        connection.settimeout(5)
        try:
            return connection.recv(4096).decode("latin-1").split("\r\n", 1)[0]
        except TimeoutError:
            return ""


@pytest.mark.parametrize(
    ("path", "content_type", "credentials"),
    [
        # with the CSRF cookie a browser holds, the CSRF check reads the form to find the token
        ("/login/", "multipart/form-data; boundary=----x", "csrf"),
        ("/admin/login/", "multipart/form-data; boundary=----x", "csrf"),
        ("/api/auth/token/", "application/json", ""),
        # an admin's upload of 1 GiB, over the ingest's own limit (512 MiB)
        ("/api/ingest/", "multipart/form-data; boundary=----x", "admin"),
    ],
)
def test_an_oversized_body_is_refused_before_it_is_read(
    live_server: Any, path: str, content_type: str, credentials: str
) -> None:
    headers = ""
    if credentials == "csrf":
        cookie = requests.get(f"{live_server.url}/login/", timeout=10).cookies["csrftoken"]
        headers = f"Cookie: csrftoken={cookie}\r\nX-CSRFToken: {cookie}\r\n"
    elif credentials == "admin":
        headers = f"Authorization: Token {api_key_for(UserFactory(role='admin'))}\r\n"
    assert declare_a_huge_body(live_server.url, path, content_type, headers).split(" ")[1:2] == ["413"]


def test_the_ingest_upload_keeps_its_own_larger_limit(live_server: Any, settings: Any) -> None:
    """Uploads up to INGEST_MAX_UPLOAD_BYTES reach the view (which checks the role, then the files); other paths
    get the general limit."""
    key = api_key_for(UserFactory(role="curator"))
    body = b"x" * (settings.REQUEST_MAX_BODY_BYTES + 1)
    page = requests.post(f"{live_server.url}/login/", data=body, timeout=30)
    assert page.status_code == 413
    upload = requests.post(
        f"{live_server.url}/api/ingest/",
        files={"files": ("c.jsonl", body)},
        headers={"Authorization": f"Token {key}"},
        timeout=30,
    )
    assert upload.status_code == 403  # past the body limit: the view's role check answers (ingest is admins')


def test_the_schema_is_built_once_and_throttled_per_user(live_server: Any, monkeypatch: Any) -> None:
    from drf_spectacular.generators import SchemaGenerator

    from core.api.schema_view import CachedSchemaView

    CachedSchemaView._built.clear()
    builds = []
    original = SchemaGenerator.get_schema

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        builds.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    headers = {"Authorization": f"Token {api_key_for(UserFactory(role='annotator'))}"}
    statuses = [
        requests.get(f"{live_server.url}/api/schema/", headers=headers, timeout=60).status_code for _ in range(31)
    ]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    assert len(builds) == 1
    # another user has a budget of its own
    other = {"Authorization": f"Token {api_key_for(UserFactory(role='annotator'))}"}
    assert requests.get(f"{live_server.url}/api/schema/", headers=other, timeout=60).status_code == 200


def test_reports_and_run_starts_are_throttled_per_user(live_server: Any, settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)  # the export runs stay queued: no worker
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "reports": "3/min",
            "runs": "2/min",
        },
    }
    headers = {"Authorization": f"Token {api_key_for(UserFactory(role='admin'))}"}
    report = [
        requests.get(f"{live_server.url}/api/annotation/agreement", headers=headers, timeout=30).status_code
        for _ in range(4)
    ]
    assert report[:3] == [200] * 3 and report[3] == 429
    starts = [
        requests.post(
            f"{live_server.url}/api/exports", json={"format": "jsonl"}, headers=headers, timeout=30
        ).status_code
        for _ in range(3)
    ]
    assert starts[:2] == [202, 202] and starts[2] == 429
    # polling the runs is not limited
    for _ in range(5):
        assert requests.get(f"{live_server.url}/api/exports", headers=headers, timeout=30).status_code == 200
