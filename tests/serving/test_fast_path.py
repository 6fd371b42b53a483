"""The lean WSGI read path (serving/fast.py) answers as the DRF views do: the same bytes for a known key, the
same refusals, and a miss that claims one generation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from rest_framework.test import APIClient

from core.models import OutboxMessage
from serving.fast import serving_fast_path
from serving.services import GENERATE_TASK, serving_store_rebuild
from tests.factories import UserFactory, api_key_for
from tests.serving.test_serving import approve_all
from tests.wsgi import CountingHandler, wsgi_environ, wsgi_request

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def call(
    app: Any, path: str, params: dict[str, Any], *, token: str | None, **extra: str
) -> tuple[int, dict[str, Any], bool]:
    """(status, JSON body, whether Django's stack answered)."""
    general = getattr(app, "general", None)
    before = general.calls if general is not None else 0
    headers = call_headers(app, path, params, token=token, **extra)
    after = general.calls if general is not None else 0
    return headers[0], headers[2], after > before


def call_headers(
    app: Any, path: str, params: dict[str, Any], *, token: str | None, **extra: str
) -> tuple[int, dict[str, str], Any]:
    return wsgi_request(app, wsgi_environ("GET", path, query=urlencode(params), token=token, **extra))


def lean(general: CountingHandler) -> Any:
    app = serving_fast_path(general)
    assert app is not general
    app.general = general
    return app


def test_the_lean_path_answers_known_keys_with_the_views_bytes_and_refuses_alike(
    scored_pool: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    candidates = scored_pool(4)
    approve_all(UserFactory(role="curator"))
    serving_store_rebuild()
    app = lean(CountingHandler())
    serving = UserFactory(role="serving")
    token = api_key_for(serving)
    pair = candidates[0].pair
    params = {"query": pair.query.text, "product": pair.product.external_id}
    status, fast, django = call(app, "/api/serving/pair/", params, token=token)
    assert status == 200 and not django and fast["found"] and fast["curated"]["count"] == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert orjson.loads(client.get("/api/serving/pair/", params).content) == fast
    # pages and pins go the general way, still without Django's stack
    status, paged, django = call(
        app, "/api/serving/product", {"product": pair.product.external_id, "page_size": 1}, token=token
    )
    assert status == 200 and not django and len(paged["curated"]["relations"][0]["edges"]) == 1
    # refusals: no or a bad token, no role, a bad field
    assert call(app, "/api/serving/query/", {"query": "a"}, token="0" * 40)[0] == 401
    assert call(app, "/api/serving/query/", {"query": "a"}, token=None)[0] == 401  # (Django answers this one)
    assert call(app, "/api/serving/query/", {"query": "a"}, token=api_key_for(UserFactory(role="annotator")))[0] == 403
    status, bad, django = call(app, "/api/serving/query/", {"query": "a", "page": "x"}, token=token)
    assert status == 400 and bad["field"] == "page" and not django
    # a miss: pending, one generation claimed, and the second miss claims nothing
    status, miss, _ = call(app, "/api/serving/query/", {"query": "unknown thing"}, token=token)
    assert status == 200 and miss["pending"] and not miss["found"] and miss["generated"] is None
    assert call(app, "/api/serving/query/", {"query": "Unknown  thing"}, token=token)[1]["pending"]
    assert OutboxMessage.objects.filter(task=GENERATE_TASK).count() == 1
    # other routes and methods are Django's
    assert call(app, "/api/serving/snapshots/", {}, token=token)[2]


def test_the_lean_path_answers_with_the_views_headers_and_leaves_hosts_and_redirects_to_django(
    scored_pool: Any, monkeypatch: Any, settings: Any
) -> None:
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    candidates = scored_pool(2)
    approve_all(UserFactory(role="curator"))
    serving_store_rebuild()
    general = CountingHandler()
    app = lean(general)
    token = api_key_for(UserFactory(role="serving"))
    pair = candidates[0].pair
    params = {"query": pair.query.text, "product": pair.product.external_id}
    fast = call_headers(app, "/api/serving/pair/", params, token=token, HTTP_X_REQUEST_ID="serving-1")
    assert general.calls == 0 and fast[0] == 200
    django = call_headers(general, "/api/serving/pair/", params, token=token, HTTP_X_REQUEST_ID="serving-1")
    assert fast[2] == django[2]
    assert fast[1] == django[1] and fast[1]["X-Request-ID"] == "serving-1"
    # a host that is not allowed: Django's 400; an HTTPS redirect that is due: Django's 301
    assert call(app, "/api/serving/pair/", params, token=token, HTTP_HOST="evil.example")[0:3:2] == (400, True)
    settings.SECURE_SSL_REDIRECT = True  # (read when the handler is built)
    redirecting = lean(CountingHandler())
    assert call(redirecting, "/api/serving/pair/", params, token=token)[0:3:2] == (301, True)
