"""The lean path of the annotation API's two hot requests: ``GET /api/annotation/next`` and
``POST /api/annotation/answers`` (with or without the trailing slash) answered before Django's middleware, URL
resolver and DRF's view machinery, by the same services and with the same bodies.

``annotation_fast_path(application)`` wraps the WSGI application (config/wsgi.py), on PostgreSQL, unless
``ANNOTATION_FAST_PATH=false``. Why: in the API protocol (a ``next`` and an answer per step, as scripts and other
tools use the API) an answer costs two requests, and the middleware, the resolver and DRF's dispatch took about a
third of a gunicorn worker's Python per request (cProfile, benchmarks/annotation_load.py; docs/annotation.md).

The contract: this path answers only the plain case, and hands everything else to ``application`` untouched, so
every refusal is worded by the general path:

- the route and method match, ``Authorization: Token <key>`` is presented, the host is allowed
  (``ALLOWED_HOSTS``) and no HTTPS redirect is due (``SECURE_SSL_REDIRECT``);
- the token is valid and its user active with a role (``FastTokenAuthentication``, ``HasAnyRole``); else the
  general path answers 401 or 403;
- for an answer: a JSON body (``Content-Type: application/json``, UTF-8) of at most 4,096 declared bytes that
  ``answer_input_plain`` accepts as it stands; anything else (a malformed body, a value the serializer would
  coerce or refuse) goes to the view with the same bytes, which parses and words the error.

What it does then is the view's: the service (``assignment_next_with_prefetch`` or ``answer_submit``), the body
(``annotation.apis.next_steps_body`` / ``answer_body``, rendered by ``FastJSONRenderer``, with the view's
``Allow``), and a domain refusal (``ApplicationError``) as the API's exception handler renders it; around it, what
Django's stack does for any request (core/lean.py: headers, request id, logs, metrics, the connection, a 500).
tests/annotation/test_fast_path.py checks each of these against the general path.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from rest_framework.exceptions import AuthenticationFailed

from annotation.apis import answer_body, answer_input_plain, next_steps_body
from annotation.services import answer_submit, assignment_next_with_prefetch
from core.api.authentication import FastTokenAuthentication
from core.api.fast import FastJSONRenderer
from core.errors import ApplicationError
from core.lean import Delegate, LeanAnswer, LeanSite, lean_serve, lean_site, token_key
from core.roles import ALL_ROLES, user_has_role

MAX_BODY_BYTES = 4096  # a plain answer is ~150 bytes; larger bodies take the general path (and its limits)
JSON = "application/json"
_NEXT, _ANSWER = "api-annotation-next", "api-annotation-answers"
_ROUTES = {
    f"/api/annotation/{route}{slash}": (method, view)
    for route, method, view in (("next", "GET", _NEXT), ("answers", "POST", _ANSWER))
    for slash in ("", "/")
}
_ALLOW = {_NEXT: [("Allow", "GET, HEAD, OPTIONS")], _ANSWER: [("Allow", "POST, OPTIONS")]}


def annotation_fast_path(application: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``application`` (when ``PLAUSI_ANNOTATION["FAST_PATH"]`` is on and the database is PostgreSQL)."""
    if not settings.PLAUSI_ANNOTATION.get("FAST_PATH", True) or connection.vendor != "postgresql":
        return application
    site = lean_site()  # read once, as the middleware reads its settings when the handler is built

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = _ROUTES.get(environ.get("PATH_INFO", ""))
        if route is None or environ.get("REQUEST_METHOD") != route[0]:
            return application(environ, start_response)
        key = token_key(environ.get("HTTP_AUTHORIZATION", ""))
        if key is None:
            return application(environ, start_response)
        body = None
        if route[1] == _ANSWER:
            body = _plain_body(environ)  # the bytes read are put back into environ for the general path
            if body is None:
                return application(environ, start_response)
        try:
            return _serve(environ, start_response, route[1], key, body, site)
        except Delegate:
            return application(environ, start_response)

    return app


def _plain_body(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The answer's validated input when the body is plainly valid JSON of the answer's shape, else None. Whatever
    was read is put back as ``wsgi.input`` so that the general path reads the same bytes."""
    content_type = environ.get("CONTENT_TYPE", "").lower().replace(" ", "")
    if content_type not in (JSON, f"{JSON};charset=utf-8"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY_BYTES:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    if len(raw) != length:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return answer_input_plain(data)


def _serve(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    view: str,
    key: str,
    body: dict[str, Any] | None,
    site: LeanSite,
) -> Iterable[bytes]:
    def answer() -> LeanAnswer:
        """The view's answer for an authorised plain request; ``Delegate`` for a token or a user that the
        general path must refuse."""
        try:
            annotator, _token = FastTokenAuthentication().authenticate_credentials(key)
        except AuthenticationFailed:
            raise Delegate from None
        if not user_has_role(annotator, *ALL_ROLES):
            raise Delegate
        try:
            if body is None:
                status, data = 200, next_steps_body(annotator, assignment_next_with_prefetch(annotator=annotator))
            else:
                result = answer_submit(
                    annotator=annotator,
                    assignment_id=body["assignment"],
                    question_slug=body["question"],
                    value=body["value"],
                    idempotency_key=body["idempotency_key"],
                    seconds=body["seconds"],
                )
                status, data = answer_body(annotator, result)
        except ApplicationError as refused:  # as the API's exception handler renders it (core/api/errors.py)
            status, data = refused.status_code, {"detail": refused.message, **refused.extra}
        return LeanAnswer(status, FastJSONRenderer().render(data), JSON, _ALLOW[view])

    return lean_serve(environ, start_response, view=view, site=site, answer=answer)
