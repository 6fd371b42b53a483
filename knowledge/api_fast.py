"""Rendering for the API's hot path (the annotation next/answer loop): the same bytes as DRF's JSONRenderer, from
orjson, and no content negotiation among renderers the view does not have.

DRF's renderer encodes with the standard library's ``json`` and a Python ``default`` per object, and its
negotiation parses the Accept header on every request; together they were ~7% of a gunicorn worker's Python time
under the annotation load (``py-spy --gil``, benchmarks/annotation_load.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
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
