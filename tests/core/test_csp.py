"""The Content-Security-Policy over HTTP against a running server: every HTML page (ours, the admin's, the API
docs, error pages) says that only this origin's script and style files may run, so markup that slipped past
escaping (an inline ``<script>``, an ``onerror`` handler, a ``style`` attribute) is inert in the browser. The
browser side (no page of ours breaks the policy) is in ``tests/e2e/test_payloads.py``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.e2e.test_payloads import PAGES, scripts_from_this_origin_only
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

STRICT = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
}


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page of one object: a missing one (its 404 page) or a named plot
        return reverse(name, kwargs={"name": "funnel"}) if name == "dashboard-plot" else reverse(name, args=[999999])


def _session(live_server: Any, role: str) -> httpx.Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return httpx.Client(base_url=live_server.url, cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=30)


def test_the_default_policy_is_strict() -> None:
    directives = {part.strip() for part in settings.CONTENT_SECURITY_POLICY.split(";")}
    assert directives >= STRICT
    assert "unsafe-inline" not in settings.CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in settings.CONTENT_SECURITY_POLICY


def test_every_html_page_forbids_inline_scripts_and_styles(live_server: Any) -> None:
    anonymous = httpx.get(f"{live_server.url}/login/", timeout=30)
    assert anonymous.status_code == 200
    assert anonymous.headers["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    missing = httpx.get(f"{live_server.url}/no-such-page/", timeout=30)
    assert missing.status_code == 404
    assert missing.headers["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY

    problems = []
    with _session(live_server, "admin") as browser:
        urls = [_url(name) for name in PAGES] + ["/api/docs/", "/api/docs/?script=", "/admin/", "/admin/auth/user/"]
        for url in urls:
            response = browser.get(url)
            policy = response.headers.get("Content-Security-Policy")
            if response.status_code not in (200, 404) or (response.status_code == 404 and "999999" not in url):
                problems.append(f"{url}: status {response.status_code}")
            elif policy is None or not scripts_from_this_origin_only(policy):
                problems.append(f"{url}: Content-Security-Policy {policy!r}")
            elif "svg" not in response.headers["Content-Type"] and policy != settings.CONTENT_SECURITY_POLICY:
                problems.append(f"{url}: not the site's policy: {policy!r}")
    assert not problems, "\n".join(problems)
