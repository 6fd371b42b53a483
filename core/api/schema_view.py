"""The schema's view (a module of its own: drf-spectacular's views import the schema class of core.api.schema)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.throttles import SchemaThrottle


class CachedSchemaView(SpectacularAPIView):
    """``/api/schema/``: built once per process (per version and language), then served from memory; it used to be
    rebuilt on every request, a second of CPU that any signed-in user could ask for in a loop. The schema is the
    same for every user (``SERVE_PUBLIC``), so one copy serves all; it changes only with a deployment. Throttled
    per user (``SchemaThrottle``)."""

    throttle_classes = [SchemaThrottle]
    _built: ClassVar[dict[tuple[str, str], Any]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (str(version or ""), str(request.GET.get("lang") or ""))
        with self._lock:
            schema = self._built.get(key)
            if schema is None:
                generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
                schema = self._built[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=schema,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
