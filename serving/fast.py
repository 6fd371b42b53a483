"""The lean read path: GET lookups of single keys answered before Django's middleware and URL resolver.

``serving_fast_path(application)`` wraps the WSGI application (config/wsgi.py). A GET of ``/api/serving/query``,
``/product`` or ``/pair`` (with or without the trailing slash) that presents ``Authorization: Token <key>`` is
answered here with ONE statement on PostgreSQL: the token (unexpired, by its digest, as
``core.api.authentication``), its user's active flag and roles, the latest snapshot and the key's stored bytes.
The answer is those bytes behind ``{"snapshot": N,``. So a known key costs one indexed round trip and no JSON
encoding. The same checks as the DRF views apply, in the same order and with the same bodies: 401 without a valid
token, 403 without a serving, curator or admin role, 400 naming the field. Everything else (a session cookie, a
pinned snapshot or another page, a miss, another database than PostgreSQL) goes the general way: the selectors,
or Django itself. Around each request it answers, what Django's stack does for any request (core/lean.py): the
host is checked and a due HTTPS redirect left to Django, the middleware's headers, the request id, logs and
metrics, the database connection. A failure of the store is answered 503 (try again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from core.lean import Delegate, LeanAnswer, LeanSite, lean_serve, lean_site, token_key

logger = logging.getLogger(__name__)

_ROUTES = {f"/api/serving/{route}{slash}": route for route in ("query", "product", "pair") for slash in ("", "/")}
_HEADERS = [("Allow", "GET, HEAD, OPTIONS"), ("Cache-Control", "private, no-store"), ("Vary", "Authorization")]


def _statement() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from core.models import ApiToken
    from serving.apis import SERVING_ROLES
    from serving.models import ServingEntry, ServingSnapshot

    user = get_user_model()
    memberships = user.groups.through._meta.db_table
    roles = ", ".join(f"'{role.value}'" for role in SERVING_ROLES)
    # Table names come from the models' metadata and role names from the Role enum; the key and digest are bound.
    return (
        f"SELECT u.is_active, u.is_superuser, EXISTS(SELECT 1 FROM {memberships} m "  # noqa: S608
        f"JOIN {Group._meta.db_table} g ON g.id = m.group_id WHERE m.user_id = u.id AND g.name IN ({roles})), "
        f"(SELECT MAX(id) FROM {ServingSnapshot._meta.db_table}), "
        f"(SELECT body FROM {ServingEntry._meta.db_table} WHERE key = %s AND valid_to IS NULL) "
        f"FROM {ApiToken._meta.db_table} t JOIN {user._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.digest = %s AND t.expires_at > now()"
    )


def _respond(status: int, body: bytes, extra: list[tuple[str, str]] | None = None) -> LeanAnswer:
    return LeanAnswer(status, body, "application/json", [*_HEADERS, *(extra or [])])


def _error(status: int, detail: str, **extra: Any) -> LeanAnswer:
    headers = [("WWW-Authenticate", "Token")] if status == 401 else []
    return _respond(status, orjson.dumps({"detail": detail, **extra}), headers)


def serving_fast_path(application: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``application`` (when ``PLAUSI_SERVING["FAST_PATH"]`` is on and the database is PostgreSQL)."""
    from django.conf import settings
    from django.db import connection

    if not settings.PLAUSI_SERVING["FAST_PATH"] or connection.vendor != "postgresql":
        return application
    statement: list[str] = []
    site = lean_site()  # read once, as the middleware reads its settings when the handler is built

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = _ROUTES.get(environ.get("PATH_INFO", ""))
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if route is None or environ.get("REQUEST_METHOD") != "GET" or not authorization:
            return application(environ, start_response)
        try:
            return _serve(environ, start_response, route, authorization, statement, site)
        except Delegate:
            return application(environ, start_response)

    return app


def _serve(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    route: str,
    authorization: str,
    statement: list[str],
    site: LeanSite,
) -> Iterable[bytes]:
    def answer() -> LeanAnswer:
        try:
            return _answer(route, environ, authorization, statement)
        except Exception:
            logger.exception("serving fast path")
            return _error(503, "The serving store is unavailable; try again.")

    return lean_serve(environ, start_response, view=f"api-serving-{route}", site=site, answer=answer)


def _answer(route: str, environ: dict[str, Any], authorization: str, statement: list[str]) -> LeanAnswer:
    from django.db import connection

    from core.api.authentication import api_token_digest
    from serving import params, render
    from serving.selectors import serving_answer_tail, serving_lookup_one
    from serving.services import conf

    key_text = token_key(authorization)
    if key_text is None:
        return _error(401, "Invalid token header.")
    values: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        if name in values:
            return _error(400, f"{name}: give it once", field=name)
        values[name] = value
    try:
        key, paging = params.single_read(route, values, max_page_size=int(conf("MAX_PAGE_SIZE")))
        problem = None
    except params.KeyProblem as refused:
        key, paging, problem = None, None, refused
    if not statement:
        statement.append(_statement())
    with connection.cursor() as cursor:
        cursor.execute(statement[0], [key.key if key else "", api_token_digest(key_text)])
        row = cursor.fetchone()
    if row is None:
        return _error(401, "Invalid token.")
    active, superuser, has_role, snapshot, body = row
    if not active:
        return _error(401, "User inactive or deleted.")
    if not (has_role or superuser):
        return _error(403, "Your role does not allow this.")
    if problem is not None or key is None or paging is None:
        assert problem is not None
        return _error(400, f"{problem.field}: {problem.message}", field=problem.field)
    if paging.snapshot is not None or paging.page != 1 or paging.page_size not in (None, int(conf("PAGE_SIZE"))):
        from core.errors import ApplicationError

        try:
            answer = serving_lookup_one(key=key, snapshot=paging.snapshot, page=paging.page, page_size=paging.page_size)
        except ApplicationError as refused:
            return _error(refused.status_code, refused.message, **refused.extra)
        return _respond(200, answer)
    if body is not None:
        return _respond(200, render.answer(snapshot, bytes(body)))
    return _respond(200, render.answer(snapshot, serving_answer_tail(key, None, page=1, page_size=1)))
