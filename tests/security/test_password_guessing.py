"""Password guessing, replayed over HTTP against a running server (issue 17): one set of failure counters for the
login page, the admin's login and the token endpoint, keyed on the normalised username and the real client
address, that applies whether or not a request carries other credentials, and that a stranger cannot use to
lock a real user out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.core.cache import cache

from tests.factories import TEST_PASSWORD, UserFactory, api_key_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def token_attempt(base: str, username: str, password: str, headers: dict[str, str] | None = None) -> Any:
    return requests.post(
        f"{base}/api/auth/token/", json={"username": username, "password": password}, headers=headers or {}, timeout=10
    )


def form_login(base: str, path: str, username: str, password: str, headers: dict[str, str] | None = None) -> Any:
    """A browser's login: fetch the form (its CSRF cookie), then post it; returns the session and the answer."""
    session = requests.Session()
    session.get(f"{base}{path}", headers=headers or {}, timeout=10)
    answer = session.post(
        f"{base}{path}",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers=headers or {},
        allow_redirects=False,
        timeout=10,
    )
    return session, answer


def test_rotating_x_forwarded_for_does_not_get_around_the_token_endpoints_limit(live_server: Any) -> None:
    UserFactory(role="admin", username="boss")
    for attempt in range(40):
        wrong = token_attempt(live_server.url, "boss", f"guess-{attempt}", {"X-Forwarded-For": f"10.9.{attempt}.1"})
        assert wrong.status_code in (400, 429)
    right = token_attempt(live_server.url, "boss", TEST_PASSWORD, {"X-Forwarded-For": "10.9.99.1"})
    assert right.status_code == 429 and "token" not in right.json()
    assert int(right.headers["Retry-After"]) > 0


def test_a_request_carrying_its_own_token_is_limited_like_any_other(live_server: Any, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 1000  # only the per-username count may stop it
    UserFactory(role="admin", username="boss")
    own = {"Authorization": f"Token {api_key_for(UserFactory(role='annotator', username='insider'))}"}
    answers = [token_attempt(live_server.url, "boss", f"guess-{n}", own).status_code for n in range(12)]
    assert answers[:10] == [400] * 10 and set(answers[10:]) == {429}
    right = token_attempt(live_server.url, "boss", TEST_PASSWORD, own)
    assert right.status_code == 429 and "token" not in right.json()


def test_a_username_locked_at_the_login_page_gets_no_token_and_no_admin_session(live_server: Any) -> None:
    UserFactory(role="admin", username="boss")
    for attempt in range(10):
        _session, answer = form_login(live_server.url, "/login/", "boss", f"guess-{attempt}")
        assert answer.status_code == 200  # the form again
    assert token_attempt(live_server.url, "boss", TEST_PASSWORD).status_code == 429
    session, answer = form_login(live_server.url, "/admin/login/?next=/admin/", "boss", TEST_PASSWORD)
    assert answer.status_code == 429 and "sessionid" not in session.cookies


def test_the_admin_login_is_limited(live_server: Any) -> None:
    UserFactory(role="admin", username="boss")
    for attempt in range(15):
        _session, answer = form_login(live_server.url, "/admin/login/?next=/admin/", "boss", f"guess-{attempt}")
        assert answer.status_code in (200, 429)
    session, answer = form_login(live_server.url, "/admin/login/?next=/admin/", "boss", TEST_PASSWORD)
    assert answer.status_code == 429 and "sessionid" not in session.cookies
    assert session.get(f"{live_server.url}/admin/", allow_redirects=False, timeout=10).status_code == 302


def test_a_look_alike_spelling_counts_against_the_same_username(live_server: Any) -> None:
    UserFactory(role="annotator", username="guessme")
    for attempt in range(10):
        form_login(live_server.url, "/login/", "guessme", f"guess-{attempt}")
    fullwidth = "ｇｕｅｓｓｍｅ"  # NFKC: "guessme", the name the login form looks up
    session, answer = form_login(live_server.url, "/login/", fullwidth, TEST_PASSWORD)
    assert answer.status_code == 429 and "sessionid" not in session.cookies
    assert token_attempt(live_server.url, fullwidth, TEST_PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_a_stranger_cannot_lock_anyone_out(live_server: Any, settings: Any) -> None:
    settings.TRUSTED_PROXY_HOPS = 1  # one reverse proxy appends the client's address; REMOTE_ADDR is the proxy's
    UserFactory(role="annotator", username="victim")
    UserFactory(role="annotator", username="bystander")
    stranger = {"X-Forwarded-For": "203.0.113.9"}
    for attempt in range(10):
        form_login(live_server.url, "/login/", "victim", f"guess-{attempt}", stranger)
        form_login(live_server.url, "/login/", "bystander", f"guess-{attempt}", stranger)
    # the stranger is stopped ...
    _session, blocked = form_login(live_server.url, "/login/", "victim", TEST_PASSWORD, stranger)
    assert blocked.status_code == 429
    # ... the real users, from their own addresses behind the same proxy, are not
    for username, address in (("victim", "198.51.100.7"), ("bystander", "198.51.100.8")):
        _session, answer = form_login(live_server.url, "/login/", username, TEST_PASSWORD, {"X-Forwarded-For": address})
        assert answer.status_code == 302, username


def test_without_a_trusted_proxy_the_client_cannot_choose_its_address(live_server: Any) -> None:
    UserFactory(role="annotator", username="guessme")
    for attempt in range(10):
        form_login(live_server.url, "/login/", "guessme", f"guess-{attempt}", {"X-Forwarded-For": f"10.1.{attempt}.1"})
    _session, answer = form_login(live_server.url, "/login/", "guessme", TEST_PASSWORD, {"X-Forwarded-For": "10.7.7.7"})
    assert answer.status_code == 429 and answer.headers["Retry-After"]


def test_guessing_one_username_from_many_addresses_meets_growing_delays(live_server: Any, settings: Any) -> None:
    settings.TRUSTED_PROXY_HOPS = 1
    settings.LOGIN_FREE_FAILURES_PER_USERNAME = 3
    settings.LOGIN_MAX_DELAY_SECONDS = 2
    UserFactory(role="annotator", username="target")

    def attempt(password: str, address: int) -> Any:
        return token_attempt(live_server.url, "target", password, {"X-Forwarded-For": f"10.2.{address}.1"})

    for address in range(3):  # free failures, each from a new address
        assert attempt("x", address).status_code == 400
    first = attempt("x", 3)  # a 4th attempt, from anywhere, waits 1 s after the last failure ...
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    time.sleep(1.1)
    assert attempt("x", 4).status_code == 400
    second = attempt(TEST_PASSWORD, 5)  # ... a 5th waits 2 s (the most, here) ...
    assert second.status_code == 429 and second.headers["Retry-After"] == "2"
    time.sleep(2.1)
    assert attempt(TEST_PASSWORD, 6).status_code == 200  # ... and the real user, told to wait, waits and gets in


def test_the_right_password_after_a_few_mistakes_still_works(live_server: Any) -> None:
    UserFactory(role="curator", username="typo")
    for attempt in range(3):
        form_login(live_server.url, "/login/", "typo", f"typo-{attempt}")
    _session, answer = form_login(live_server.url, "/login/", "typo", TEST_PASSWORD)
    assert answer.status_code == 302
    assert token_attempt(live_server.url, "typo", TEST_PASSWORD).status_code == 200
