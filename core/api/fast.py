"""The API's hot path (the annotation next/answer loop): rendering with the same bytes as DRF's JSONRenderer, from
orjson; no content negotiation among renderers the view does not have; and requests that leave no reference
cycles behind (``ReleaseCyclesMixin``).

DRF's renderer encodes with the standard library's ``json`` and a Python ``default`` per object, and its
negotiation parses the Accept header on every request; together they were ~7% of a gunicorn worker's Python time
under the annotation load (``py-spy --gil``, benchmarks/annotation_load.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()


class FastJSONRenderer(JSONRenderer):
    """JSONRenderer's output (compact, UTF-8, datetimes as DRF writes them, U+2028 and U+2029 escaped so that
    the body is also a valid JavaScript literal), encoded by orjson. Datetimes and anything orjson does not know
    natively go through DRF's own encoder; an indented rendering (``Accept: ...; indent=4``) is left to DRF."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        body = orjson.dumps(data, default=_encoder.default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        return body.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")


class SingleRendererNegotiation(DefaultContentNegotiation):
    """The view's first renderer, whatever the Accept header asks (for views that have only one); parsers are
    still chosen by Content-Type, so a body of another type is refused with 415 as before."""

    def select_renderer(
        self, request: Any, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


# Attributes of Django's request that point back at it: the lazy ``auser`` (a partial of the request) and the
# message storage (which holds the request). An API request uses neither once its response is sent.
_REQUEST_CYCLE_ATTRIBUTES = ("auser", "_messages")


def _release_cycles(view: Any, request: Request, response: Any) -> None:
    django_request = request._request
    for name in _REQUEST_CYCLE_ATTRIBUTES:
        django_request.__dict__.pop(name, None)
    request.parser_context = {}  # it names the view and the request itself
    response.renderer_context = {}  # the view, the request
    view.__dict__.clear()  # its request and response, and for a GET ``head``, a bound method of the view itself


class ReleaseCyclesMixin:
    """For an APIView: once the response has been sent (WSGI ``close()``), cut the links by which Django's
    request, DRF's request, the view and the response point at each other.

    Every answer otherwise left ~90 objects (the request, its META, session, resolver match, parsers,
    authenticators, ...) that only the garbage collector can free, and a collection pauses every thread of the
    worker; with the cycles cut, reference counting frees them as the request ends (in-process, no young
    collection ran in 1,000 answers; docs/annotation.md). The response's body and ``data`` stay; nothing a client
    or a test reads after the response is removed.
    """

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        # The closer's own references are dropped when close() runs them (and clears its list).
        response._resource_closers.append(partial(_release_cycles, self, request, response))
        return response
