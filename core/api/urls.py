"""The API's trailing-slash convention: every API path is canonical WITH its trailing slash
(``/api/curation/batches/``) and also answers, unchanged, WITHOUT it (``/api/curation/batches``).

Both forms are real routes to the same view: no redirect (a redirected POST loses its body, and clients written
against either form keep working). The canonical form is the one ``reverse()`` gives and the one the OpenAPI
schema lists; the slash-less alias is left out of the schema by ``core.api.schema.drop_slashless_aliases``.
docs/api.md states the convention for clients.

An app wraps its list once: ``api_urlpatterns = api_routes([path("things", ...), path("things/<int:id>", ...)])``;
each route may be written with or without its slash.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import URLPattern, path
from django.urls.resolvers import RoutePattern


def slash_forms(route: str) -> tuple[str, str]:
    """``(canonical, alias)`` of a route: with and without its trailing slash."""
    bare = route.rstrip("/")
    if not bare:
        raise ValueError("An API route needs at least one segment.")
    return f"{bare}/", bare


def api_routes(patterns: Iterable[URLPattern]) -> list[URLPattern]:
    """Each ``path()`` pattern twice: the slash-less alias, then the canonical form with the same view, keyword
    arguments and name. The canonical one comes last because ``reverse()`` takes the last pattern of a name
    (so a name resolves to the canonical form, and ``resolve()`` gives the same ``url_name`` for both)."""
    expanded: list[URLPattern] = []
    for pattern in patterns:
        if not isinstance(pattern, URLPattern) or not isinstance(pattern.pattern, RoutePattern):
            raise TypeError(f"api_routes takes path() patterns only, not {pattern!r}")
        canonical, alias = slash_forms(str(pattern.pattern))
        for route in (alias, canonical):
            expanded.append(path(route, pattern.callback, pattern.default_args, name=pattern.name))
    return expanded
