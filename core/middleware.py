"""Request body limits, checked on the declared ``Content-Length`` before anything reads the body.

Django reads a multipart body in full (spooling files to disk) the first time anything touches ``request.POST``:
the CSRF check does, for every POST to a page, before the view decides anything. Without a limit an anonymous
client could make the server read and store a body of any size (a 1 GiB POST to /login/ was read in full before its
403). This middleware answers 413 at once when the declared length is over the path's limit:
``REQUEST_BODY_LIMITS`` (path prefix -> bytes; the ingest upload gets ``INGEST_MAX_UPLOAD_BYTES``) or else
``REQUEST_MAX_BODY_BYTES``. A body without a ``Content-Length`` (chunked) is not read by Django at all. (gunicorn
discards an unread body before the connection's next request; nothing of it is stored.)
The reverse proxy should refuse the same sizes earlier (nginx: ``client_max_body_size``; README, Production).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


def body_limit_for(path: str) -> int:
    """The largest body a request to ``path`` may declare (the longest matching prefix wins; a prefix with a
    trailing slash also covers its slash-less API alias, ``/api/ingest`` as ``/api/ingest/``)."""
    limits: dict[str, int] = settings.REQUEST_BODY_LIMITS
    matching = [prefix for prefix in limits if path.startswith(prefix) or path == prefix.rstrip("/")]
    if matching:
        return int(limits[max(matching, key=len)])
    return int(settings.REQUEST_MAX_BODY_BYTES)


def _refuse(request: HttpRequest, status: int, message: str, **extra: int) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, **extra}, status=status)
    else:
        response = HttpResponse(message, content_type="text/plain; charset=utf-8", status=status)
    return response


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return _refuse(request, 400, "The Content-Length header is not a number.")
            limit = body_limit_for(request.path)
            if length > limit:
                logger.warning("refused a %s-byte body for %s (limit %s)", length, request.path, limit)
                return _refuse(
                    request, 413, f"The request body is too large: at most {limit} bytes here.", limit_bytes=limit
                )
        return self.get_response(request)
