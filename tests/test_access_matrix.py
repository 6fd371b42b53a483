"""Every URL and API endpoint x {anonymous, no role, annotator, curator, admin}: each role reaches exactly what it
should. Permissions are checked before any object is looked up, so object ids here need not exist: an allowed
role gets anything but 401/403 (200, 201, 202, 302, 400, 404, 409...), a refused one 403, an anonymous client
401 from the API and a redirect to the login page from a page. A URL added without a row here fails the
completeness test."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import get_resolver, reverse
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ANY = frozenset({"annotator", "curator", "admin"})
CURATORS = frozenset({"curator", "admin"})
ADMINS = frozenset({"admin"})
SERVING = frozenset({"serving", "curator", "admin"})  # a serving client reads the serving API and nothing else
NO_ID = 987654

# (method, url name, kwargs, roles allowed)
API: list[tuple[str, str, dict[str, Any], frozenset[str]]] = [
    ("get", "api-me", {}, ANY),
    ("get", "api-tokens", {}, ANY),
    ("delete", "api-token-detail", {"token_id": NO_ID}, ANY),
    ("get", "api-relations", {}, ANY),
    ("get", "api-candidates", {}, CURATORS),
    ("get", "api-candidate", {"candidate_id": NO_ID}, CURATORS),
    ("post", "api-ingest", {}, ADMINS),
    ("get", "api-ingest-runs", {}, ADMINS),
    ("get", "api-ingest-run", {"run_id": NO_ID}, ADMINS),
    ("get", "api-filter-configurations", {}, ADMINS),
    ("get", "api-filter-runs", {}, ADMINS),
    ("get", "api-filter-run", {"run_id": NO_ID}, ADMINS),
    ("get", "api-filter-run-report", {"run_id": NO_ID}, ADMINS),
    ("get", "api-candidate-filter-decisions", {"candidate_id": NO_ID}, CURATORS),
    ("get", "api-annotation-next", {}, ANY),
    ("post", "api-annotation-answers", {}, ANY),
    ("post", "api-annotation-skip", {"assignment_id": NO_ID}, ANY),
    ("post", "api-annotation-undo", {}, ANY),
    ("post", "api-annotation-release", {}, ANY),
    ("get", "api-annotation-agreement", {}, CURATORS),
    ("get", "api-annotation-labels", {}, CURATORS),
    ("get", "api-classifier-versions", {}, CURATORS),
    ("post", "api-classifier-activate", {"version_id": NO_ID}, ADMINS),
    ("get", "api-training-runs", {}, CURATORS),
    ("post", "api-training-runs", {}, ADMINS),
    ("get", "api-training-run", {"run_id": NO_ID}, CURATORS),
    ("get", "api-scoring-runs", {}, CURATORS),
    ("get", "api-scoring-run", {"run_id": NO_ID}, CURATORS),
    ("get", "api-learning-curve", {}, CURATORS),
    ("get", "api-batches", {}, CURATORS),
    ("get", "api-batch", {"batch_id": NO_ID}, CURATORS),
    ("post", "api-batch-audit", {"batch_id": NO_ID}, CURATORS),
    ("post", "api-batch-decision", {"batch_id": NO_ID}, CURATORS),
    ("post", "api-candidate-decision", {"candidate_id": NO_ID}, CURATORS),
    ("get", "api-curation-events", {}, CURATORS),
    ("get", "api-curation-queue", {}, CURATORS),
    ("get", "api-graph-summary", {}, CURATORS),
    ("get", "api-graph-node", {"node_id": NO_ID}, CURATORS),
    ("get", "api-graph-nodes", {}, CURATORS),
    ("get", "api-graph-neighbourhood", {"node_id": NO_ID}, CURATORS),
    ("get", "api-graph-edge", {"edge_id": NO_ID}, CURATORS),
    ("get", "api-exports", {}, ADMINS),
    ("post", "api-exports", {}, ADMINS),
    ("get", "api-export", {"run_id": NO_ID}, ADMINS),
    ("get", "api-export-download", {"run_id": NO_ID}, ADMINS),
    ("post", "api-imports", {}, ADMINS),
    ("get", "api-generation-runs", {}, ADMINS),
    ("post", "api-generation-runs", {}, ADMINS),
    ("get", "api-generation-run", {"run_id": NO_ID}, ADMINS),
    ("get", "api-lm-training-runs", {}, ADMINS),
    ("post", "api-lm-training-runs", {}, ADMINS),
    ("get", "api-lm-training-run", {"run_id": NO_ID}, ADMINS),
    ("get", "api-lm-versions", {}, ADMINS),
    ("get", "api-lm-version", {"version_id": NO_ID}, ADMINS),
    ("post", "api-lm-version-activate", {"version_id": NO_ID}, ADMINS),
    ("get", "api-runs", {}, CURATORS),
    ("get", "api-run", {"kind": "training", "run_id": NO_ID}, CURATORS),
    ("get", "api-pipeline", {}, CURATORS),
    ("get", "api-dashboard-charts", {}, CURATORS),
    ("get", "api-events", {}, ADMINS),
    ("get", "api-webhook-endpoints", {}, ADMINS),
    ("post", "api-webhook-endpoints", {}, ADMINS),
    ("post", "api-webhook-endpoint-test", {"endpoint_id": NO_ID}, ADMINS),
    ("get", "api-webhook-deliveries", {}, ADMINS),
    ("post", "api-webhook-delivery-replay", {"delivery_id": NO_ID}, ADMINS),
    ("get", "api-serving-query", {}, SERVING),
    ("get", "api-serving-product", {}, SERVING),
    ("get", "api-serving-pair", {}, SERVING),
    ("post", "api-serving-lookup", {}, SERVING),
    ("get", "api-serving-snapshots", {}, SERVING),
]
PAGES: list[tuple[str, str, dict[str, Any], frozenset[str]]] = [
    ("get", "annotate", {}, ANY),
    ("get", "pipeline", {}, CURATORS),
    ("get", "ingest-runs", {}, ADMINS),
    ("get", "filter-runs", {}, ADMINS),
    ("get", "filter-run-report", {"run_id": NO_ID}, ADMINS),
    ("get", "annotation-agreement", {}, CURATORS),
    ("get", "classifiers", {}, CURATORS),
    ("get", "curation-batches", {}, CURATORS),
    ("post", "curation-batches-create", {}, CURATORS),
    ("get", "curation-batch", {"batch_id": NO_ID}, CURATORS),
    ("get", "graph", {}, CURATORS),
    ("get", "graph-node", {"node_id": NO_ID}, CURATORS),
    ("get", "graph-edge", {"edge_id": NO_ID}, CURATORS),
    ("get", "exports", {}, ADMINS),
    ("post", "exports", {}, ADMINS),
    ("get", "lm", {}, ADMINS),
    ("get", "lm-version", {"version_id": NO_ID}, ADMINS),
    ("get", "dashboard", {}, CURATORS),
    ("get", "dashboard-plot", {"name": "funnel"}, CURATORS),
    ("get", "account-tokens", {}, ANY),
    ("post", "account-token-revoke", {"token_id": NO_ID}, ANY),
]
# Public or role-independent by design: login/logout, the health check, the token exchange (its own throttle),
# the schema and its docs (they describe the API, they do not open it), the home page (any signed-in user);
# /metrics is guarded by network or token, not by role (tests/core/test_metrics.py).
UNGUARDED = {
    "login",
    "logout",
    "healthz",
    "healthz-live",
    "healthz-ready",
    "metrics",
    "api-token",
    "api-schema",
    "api-docs",
    "home",
}
ROLES = ["annotator", "curator", "admin", "serving", "norole"]


def _names() -> set[str]:
    def walk(patterns: Any) -> Any:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                if "admin" not in str(pattern.pattern):
                    yield from walk(pattern.url_patterns)
            elif pattern.name:
                yield pattern.name

    return set(walk(get_resolver().url_patterns))


def test_every_url_is_in_the_matrix() -> None:
    covered = {name for _m, name, _k, _r in API + PAGES} | UNGUARDED
    assert _names() - covered == set(), "add the new URLs to tests/test_access_matrix.py"


@pytest.mark.parametrize(("method", "name", "kwargs", "allowed"), API, ids=[f"{m} {n}" for m, n, _k, _a in API])
def test_api_roles(method: str, name: str, kwargs: dict[str, Any], allowed: frozenset[str]) -> None:
    url = reverse(name, kwargs=kwargs)
    anonymous = getattr(APIClient(), method)(url, {}, format="json")
    assert anonymous.status_code == 401, (name, anonymous.status_code)
    for role in ROLES:
        client = APIClient()
        client.force_authenticate(UserFactory(role=None if role == "norole" else role))
        response = getattr(client, method)(url, {}, format="json")
        status = response.status_code
        if role in allowed and name == "api-annotation-skip":
            # object level: a lease that is not yours (here: no one's) is refused, saying so
            assert status == 403 and "not yours" in response.json()["detail"], (name, role, status)
        elif role in allowed:
            assert status not in (401, 403), (name, role, status)
        else:
            assert status == 403, (name, role, status)


@pytest.mark.parametrize(("method", "name", "kwargs", "allowed"), PAGES, ids=[f"{m} {n}" for m, n, _k, _a in PAGES])
def test_page_roles(client: Any, method: str, name: str, kwargs: dict[str, Any], allowed: frozenset[str]) -> None:
    url = reverse(name, kwargs=kwargs)
    anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"], (name, anonymous.status_code)
    for role in ROLES:
        client.force_login(UserFactory(role=None if role == "norole" else role))
        status = getattr(client, method)(url).status_code
        if role in allowed:
            assert status not in (401, 403), (name, role, status)
        else:
            assert status == 403, (name, role, status)


def test_forms_need_the_csrf_token(db: Any) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role="admin"))
    for name in ("curation-batches-create", "exports", "logout"):
        assert client.post(reverse(name)).status_code == 403, name
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(UserFactory(role="annotator"))
    # an API call authenticated by the session cookie must carry the CSRF token too
    assert session.post(reverse("api-annotation-undo")).status_code == 403
