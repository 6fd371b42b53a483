"""The hot path's renderer writes the bytes DRF's JSONRenderer writes; its negotiation ignores Accept only."""

from __future__ import annotations

import datetime as dt
import decimal
import gc
import io
import json
import uuid
from typing import Any

import orjson
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from annotation.services import queue_fill
from core.api.fast import FastJSONRenderer
from tests.factories import CandidateFactory, api_key_for

SAMPLES: list[Any] = [
    {
        "when": dt.datetime(2026, 11, 29, 9, 30, 1, 123456, tzinfo=dt.UTC),
        "elsewhere": dt.datetime(2026, 11, 29, 9, 30, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "naive": dt.datetime(2026, 1, 2, 3, 4, 5, 600),
        "day": dt.date(2026, 2, 28),
        "time": dt.time(23, 59, 58, 1000),
        "money": decimal.Decimal("12.50"),
        "id": uuid.UUID(int=7),
        "lazy": gettext_lazy("Invalid token."),
    },
    {"text": 'boots that "grip" icy sidewalks </script> <b>', "unicode": "café ☃ 🥾", "separators": "a\u2028b\u2029c"},
    {"nested": [1, 2.5, -0.0, 1e21, None, True, False, [], {}], "big": 2**60, "control": "tab\tnewline\n\x00"},
    [],
    "plain",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_bytes_are_drfs_own(data: Any) -> None:
    drf = JSONRenderer().render(data)
    fast = FastJSONRenderer().render(data)
    assert fast == drf
    assert json.loads(fast) == json.loads(drf)


def test_an_indented_rendering_is_drfs_and_none_is_an_empty_body() -> None:
    data = {"a": [1, {"b": "c"}]}
    indented = FastJSONRenderer().render(data, "application/json; indent=4")
    assert indented == JSONRenderer().render(data, "application/json; indent=4") and b"\n    " in indented
    assert FastJSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_the_answer_endpoint_speaks_json_whatever_accept_says_and_refuses_other_bodies(api_client_for: Any) -> None:
    api = api_client_for("annotator")
    response = api.get(reverse("api-annotation-next"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["step"] is None  # an empty queue, said in JSON
    refused = api.post(reverse("api-annotation-answers"), "value=yes", content_type="text/plain")
    assert refused.status_code == 415


def _wsgi_call(handler: Any, method: str, path: str, *, token: str, body: bytes = b"") -> tuple[str, bytes]:
    """One request through Django's WSGI handler as gunicorn makes it (the test client keeps its own references
    to the request and response, which would hide what the view leaves behind)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "REMOTE_ADDR": "127.0.0.1",
    }
    status: list[str] = []
    # As Django's test client does: the test's transaction keeps its connection across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = handler(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            return status[0], b"".join(result)
        finally:
            result.close()  # what a WSGI server does once the body is sent
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_next_and_answer_requests_leave_no_reference_cycles(make_user: Any, settings: Any) -> None:
    """Everything a hot-path request made is freed by reference counting when it ends: nothing is left for the
    garbage collector, whose collections pause every thread of a gunicorn worker (core.api.fast)."""
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 0.5}
    CandidateFactory.create_batch(3, status="pooled")
    CandidateFactory.create_batch(3, status="pooled", known_labels={"complete": True})  # gold
    queue_fill()
    token = api_key_for(make_user("annotator"))
    handler = WSGIHandler()

    def loop(answers: int) -> None:
        status, body = _wsgi_call(handler, "GET", reverse("api-annotation-next"), token=token)
        assert status.startswith("200"), (status, body)
        step = orjson.loads(body)["step"]
        for number in range(answers):
            payload = {
                "assignment": step["assignment"],
                "question": step["question"]["slug"],
                "value": number % 3 != 2,
                "idempotency_key": uuid.uuid4().hex,
            }
            status, body = _wsgi_call(
                handler, "POST", reverse("api-annotation-answers"), token=token, body=orjson.dumps(payload)
            )
            assert status.startswith("201"), body
            step = orjson.loads(body)["step"]

    loop(3)  # first requests: caches, prepared statements
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        loop(6)
        gc.collect()
        left = [type(obj).__qualname__ for obj in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert left == []
