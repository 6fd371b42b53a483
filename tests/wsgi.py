"""Requests made the way gunicorn makes them: a WSGI environ and ``start_response``, for tests of what Django's
test client would hide (the lean WSGI paths that answer before Django, what a view leaves behind)."""

from __future__ import annotations

import io
from typing import Any

import orjson
from django.core.handlers.wsgi import WSGIHandler


class CountingHandler:
    """Django's WSGI handler (the general path), counting the requests it answers."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        return self.handler(environ, start_response)


def wsgi_environ(
    method: str,
    path: str,
    *,
    query: str = "",
    token: str | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    **extra: str,
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "REMOTE_ADDR": "127.0.0.1",
        **extra,
    }
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Token {token}"
    if body is not None:
        environ["CONTENT_TYPE"] = content_type
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def wsgi_request(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """(status, headers, body: parsed when it is JSON, else bytes) of one request through a WSGI application."""
    seen: list[Any] = []
    result = app(environ, lambda status, headers, exc_info=None: seen.extend([status, headers]))
    content = b"".join(result)
    getattr(result, "close", lambda: None)()
    headers = dict(seen[1])
    parsed = orjson.loads(content) if headers.get("Content-Type") == "application/json" and content else content
    return int(seen[0].split()[0]), headers, parsed
