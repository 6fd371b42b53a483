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
- an unexpected error is logged and answered by Django's 500 handler (``response_for_exception``), one that says
  the database cannot answer now by a 503 (core/unavailable.py, as its middleware does on the general path), and a
  4xx is logged as Django logs it (a warning of ``django.request``).
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
from core.unavailable import database_unavailable, unavailable_logged, unavailable_response

Headers = list[tuple[str, str]]


class Delegate(Exception):
    """Not a request for the lean path: the general path answers it (and words any refusal)."""


@dataclass(frozen=True)
class LeanAnswer:
    status: int
    content: bytes
    content_type: str = "application/json"
    headers: Headers = field(default_factory=list)


def token_key(authorization: str) -> str | None:
    """The key of an ``Authorization: Token <key>`` header, or None when the header is not of that form."""
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "token" or not key or " " in key:
        return None
    return key


_ADMITTED_MAX = 256  # random Host headers cannot grow a site's admissions further


@dataclass(frozen=True)
class LeanSite:
    """What a lean path reads from the settings once, as the middleware does when the handler is built: the
    middleware's headers for a response over HTTP and over HTTPS, the proxy's HTTPS header; and the admissions
    decided so far (``admission``)."""

    plain: Headers
    secure: Headers
    proxy_header: str = ""
    ssl_redirect: bool = False
    admitted: dict[tuple[str, ...], tuple[bool, bool]] = field(default_factory=dict)

    def admission(self, environ: dict[str, Any]) -> tuple[bool, bool]:
        """(host allowed, request secure), decided by Django's own ``HttpRequest.get_host`` and ``is_secure``
        and remembered by the environ values they read (a few hosts and schemes in practice): building the
        request and validating its host cost more than a known key's whole lookup."""
        key = (
            environ.get("HTTP_X_FORWARDED_HOST", ""),
            environ.get("HTTP_HOST", ""),
            environ.get("SERVER_NAME", ""),
            environ.get("SERVER_PORT", ""),
            environ.get("HTTP_X_FORWARDED_PORT", ""),
            environ.get("wsgi.url_scheme", ""),
            environ.get(self.proxy_header, "") if self.proxy_header else "",
        )
        known = self.admitted.get(key)
        if known is None:
            request = WSGIRequest(environ)
            try:
                request.get_host()
                allowed = True
            except DisallowedHost:
                allowed = False
            known = (allowed, request.is_secure())
            if len(self.admitted) < _ADMITTED_MAX:
                self.admitted[key] = known
        return known


def lean_site() -> LeanSite:
    """The settings a lean path reads once; its headers are what SecurityMiddleware, the CSP middleware and
    XFrameOptionsMiddleware add to an API response."""
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
    proxy = settings.SECURE_PROXY_SSL_HEADER
    return LeanSite(
        plain=headers,
        secure=secure,
        proxy_header=proxy[0] if proxy else "",
        ssl_redirect=bool(settings.SECURE_SSL_REDIRECT),
    )


def lean_serve(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    *,
    view: str,
    site: LeanSite,
    answer: Callable[[], LeanAnswer],
) -> Iterable[bytes]:
    """Answer with ``answer()`` around the request as described above; raises ``Delegate`` (from the
    checks here or from ``answer``) for the general path, before anything is sent."""
    allowed, secure = site.admission(environ)
    if not allowed or (site.ssl_redirect and not secure):
        raise Delegate
    started = time.perf_counter()
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
    context = request_context_enter(request_id=request_id, method=method, path=path)
    close_old_connections()
    try:
        try:
            result = answer()
        except Delegate:
            raise
        except Exception as error:  # as Django's handler does: logged, and the 500 handler's response
            if database_unavailable(error):  # as core.unavailable's middleware does: 503
                unavailable_logged(None, path, error)
                response = unavailable_response(path)
            else:
                response = response_for_exception(WSGIRequest(environ), error)
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
                    path,
                    response=HttpResponse(status=result.status),
                    request=WSGIRequest(environ),
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
            *(site.secure if secure else site.plain),
            ("X-Request-ID", request_id),
            ("Content-Length", str(len(result.content))),
        ],
    )
    return [result.content]
