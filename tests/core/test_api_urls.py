"""The API's trailing-slash convention (core/api/urls.py, docs/api.md): every API path answers with and without its
trailing slash, from the same view and without a redirect; the slash form is canonical (reverse() gives it) and is
the only one the OpenAPI schema lists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.test import APIClient

from core.api.urls import api_routes, slash_forms


def _api_routes(patterns: Any, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """(full route, pattern) of every URL pattern under api/."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route or "api/".startswith(route) or route.startswith("api/"):
                yield from _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            yield route, pattern


def _example(route: str) -> str:
    """A concrete path for a route: each converter replaced by a value it accepts."""
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: "run" if m.group(1) in ("slug", "str") else "7", route)


API_ROUTES = sorted({route for route, _pattern in _api_routes(get_resolver().url_patterns)})


def test_the_api_has_routes_to_check() -> None:
    assert len(API_ROUTES) > 60
    assert "api/curation/batches/" in API_ROUTES and "api/ingest/" in API_ROUTES


@pytest.mark.parametrize("route", API_ROUTES)
def test_every_api_path_answers_in_both_forms_from_the_same_view_under_the_same_name(route: str) -> None:
    canonical, alias = (_example(form) for form in slash_forms(route))
    with_slash, without = resolve(canonical), resolve(alias)
    assert with_slash.func is without.func, route
    assert with_slash.url_name == without.url_name and with_slash.url_name, route
    assert with_slash.kwargs == without.kwargs, route
    assert reverse(str(with_slash.url_name), kwargs=with_slash.kwargs) == canonical, "reverse() gives the slash form"


def test_the_schema_lists_only_the_canonical_slash_form_of_each_path(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    paths = set(yaml.safe_load(target.read_text())["paths"])
    assert paths, "the schema lists no path"
    assert {path for path in paths if not path.endswith("/")} == set()
    assert {"/api/curation/batches/", "/api/exports/{run_id}/download/", "/api/auth/token/"} <= paths


@pytest.mark.django_db
def test_a_post_to_either_form_is_answered_by_the_view_not_redirected() -> None:
    """A redirect would lose the body: both forms reach the token exchange, which reads and refuses it."""
    for url in ("/api/auth/token/", "/api/auth/token"):
        response = APIClient().post(url, {"username": "nobody", "password": "wrong"}, format="json")
        assert response.status_code == 400, (url, response.status_code)
        assert "Wrong username or password" in response.json()["detail"]


def test_api_routes_takes_either_spelling_and_refuses_what_it_cannot_mirror() -> None:
    from django.urls import path, re_path

    def view(request: Any) -> None:
        return None

    routes = [str(p.pattern) for p in api_routes([path("a/b", view, name="x"), path("c/<int:id>/", view, name="y")])]
    assert routes == ["a/b", "a/b/", "c/<int:id>", "c/<int:id>/"]
    with pytest.raises(TypeError):
        api_routes([re_path(r"^a$", view)])
