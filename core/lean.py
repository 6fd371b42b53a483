"""What the lean WSGI paths (annotation/fast.py, serving/fast.py) do around a request that they answer before
Django's middleware, so that such a request is handled as Django's stack would handle it:

- it is answered only when the host is allowed (``ALLOWED_HOSTS``) and no HTTPS redirect is due
  (``SECURE_SSL_REDIRECT``); otherwise ``Delegate`` sends it to the general path, which refuses or redirects;
- its log records carry the request's id and path (``core.logs``), the response its ``X-Request-ID`` (the proxy's
  when sane), and it is timed in the request metrics under the view's URL name (``core.metrics``);
- the database connection is checked before and closed after as around any request (``close_old_connections``);
- the response carries the headers the middleware adds (``SecurityMiddleware``, the content security policy,
  ``X-Frame-Options``; ``Strict-Transport-Security`` over HTTPS), read from the settings once, as the middleware
  reads them when the handler is built;
- an unexpected error is logged and answered by Django's 500 handler (``response_for_exception``), and a 4xx is
  logged as Django logs it (a warning of ``django.request``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpResponse
from django.utils.log import log_response

from core.logs import request_context_enter, request_context_exit, request_id_from
from core.metrics import request_observe

Headers = list[tuple[str, str]]


class Delegate(Exception):
    """Not a request for the lean path: the general path answers it (and words any refusal)."""


@dataclass(frozen=True)
class LeanAnswer:
    status: int
    content: bytes
    content_type: str = "application/json"
    headers: Headers = field(default_factory=list)


@dataclass(frozen=True)
class LeanHeaders:
    """The middleware's headers for a response over HTTP and over HTTPS."""

    plain: Headers
    secure: Headers


def lean_headers() -> LeanHeaders:
    """What SecurityMiddleware, the CSP middleware and XFrameOptionsMiddleware add to an API response."""
    headers: Headers = []
    if settings.X_FRAME_OPTIONS:
        headers.append(("X-Frame-Options", str(settings.X_FRAME_OPTIONS).upper()))
    if settings.CONTENT_SECURITY_POLICY:
        headers.append(("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        headers.append(("Referrer-Policy", policy if isinstance(policy, str) else ",".join(policy)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    secure = list(headers)
    if settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        secure.append(("Strict-Transport-Security", hsts))
    return LeanHeaders(plain=headers, secure=secure)


def lean_serve(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    *,
    view: str,
    headers: LeanHeaders,
    answer: Callable[[WSGIRequest], LeanAnswer],
) -> Iterable[bytes]:
    """Answer with ``answer(request)`` around the request as described above; raises ``Delegate`` (from the
    checks here or from ``answer``) for the general path, before anything is sent."""
    request = WSGIRequest(environ)
    try:
        request.get_host()
    except DisallowedHost:
        raise Delegate from None
    secure = request.is_secure()
    if settings.SECURE_SSL_REDIRECT and not secure:
        raise Delegate
    started = time.perf_counter()
    method = request.method or ""
    request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
    context = request_context_enter(request_id=request_id, method=method, path=request.path)
    close_old_connections()
    try:
        try:
            result = answer(request)
        except Delegate:
            raise
        except Exception as error:  # as Django's handler does: logged, and the 500 handler's response
            response = response_for_exception(request, error)
            result = LeanAnswer(
                response.status_code,
                bytes(response.content),
                response["Content-Type"],
                [(name, value) for name, value in response.items() if name not in ("Content-Type", "Content-Length")],
            )
        else:
            if 400 <= result.status < 500:  # as Django logs a 4xx ("Conflict: /api/annotation/answers")
                log_response(
                    "%s: %s",
                    HTTPStatus(result.status).phrase,
                    request.path,
                    response=HttpResponse(status=result.status),
                    request=request,
                )
    finally:
        close_old_connections()
        request_context_exit(context)
    request_observe(view=view, method=method, status_code=result.status, started=started)
    start_response(
        f"{result.status} {HTTPStatus(result.status).phrase}",
        [
            ("Content-Type", result.content_type),
            *result.headers,
            *(headers.secure if secure else headers.plain),
            ("X-Request-ID", request_id),
            ("Content-Length", str(len(result.content))),
        ],
    )
    return [result.content]
