"""End-to-end fixtures: one headless Debian Chromium (Playwright, sync API) for the e2e suite, a fresh browser
context and page per test against pytest-django's ``live_server``, and helpers to log in.

Playwright's own browser download does not work here, so the system Chromium is launched. Without it the e2e
tests fail (they are not silently skipped); ``PLAUSI_SKIP_E2E=1`` skips them on purpose.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from core.roles import ALL_ROLES
from knowledge.models import Relation
from tests.factories import TEST_PASSWORD

ROLES = tuple(role.value for role in ALL_ROLES)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A page of this app answers in milliseconds; a wait this long means something is broken.
TIMEOUT_MS = 10_000
MISSING_CHROMIUM = (
    "The e2e tests need Debian's Chromium: `apt-get install chromium` "
    "(or set PLAUSI_SKIP_E2E=1 to skip them on purpose)."
)


def _skip_requested() -> bool:
    return os.environ.get("PLAUSI_SKIP_E2E") == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip or fail before any fixture runs (no test database or browser is set up for nothing)."""
    if _skip_requested():
        pytest.skip("PLAUSI_SKIP_E2E=1")
    if shutil.which("chromium") is None:
        pytest.fail(MISSING_CHROMIUM, pytrace=False)


@pytest.fixture(scope="package")
def browser(django_db_setup: None) -> Iterator[Browser]:
    """One Chromium for the whole e2e package.

    Package scope, not session scope: Playwright's sync API keeps an asyncio event loop running in the main
    thread while it is started, which changes how Django behaves in that thread until Playwright stops:

    - Django raises SynchronousOnlyOperation for ORM calls; DJANGO_ALLOW_ASYNC_UNSAFE lifts that check, so it
      is set only while Playwright runs.
    - Django's connections are kept in an ``asgiref.local.Local`` that, with a running loop, stores them in a
      context variable instead of the thread-local: the test thread gets new connection objects, without the
      ``_test_serialized_contents`` that the test database setup stored on the old ones, and
      ``serialized_rollback`` would silently restore nothing. The contents are handed over to the new
      connections, and these are closed before Playwright stops (the test database is dropped at the end).

    Tests collected after this package get Django's checks and connections back.
    """
    executable = shutil.which("chromium")
    if executable is None:  # pragma: no cover - pytest_runtest_setup has already failed the test
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    serialized = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


@pytest.fixture(autouse=True)
def _seeded_rows_present(browser: Browser, transactional_db: None) -> None:
    """Fail clearly when the rows the data migrations seed are gone (serialized_rollback not in effect).

    Runs after the database setup of the test (which restores the serialized rows) and after the browser started.
    """
    roles = set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True))
    assert roles == set(ROLES), (
        f"role groups missing ({sorted(set(ROLES) - roles)}): is the test marked "
        "django_db(transaction=True, serialized_rollback=True)? See the browser fixture in tests/e2e/conftest.py."
    )
    assert Relation.objects.exists(), "the seeded relations are missing (see _seeded_rows_present)"


# Runs in every document before its own scripts (Playwright injects it past the page's CSP) and reports each
# Content-Security-Policy violation to the test through an exposed binding.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__plausiCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} in ${event.documentURI}`
    + (event.sample ? ` (${event.sample})` : "")
  );
});
"""


class CspViolations(list[str]):
    """The CSP violations seen by a browser context: events from the pages and Chromium's console reports."""

    def take(self) -> list[str]:
        found = list(self)
        self.clear()
        return found


class RequestsInFlight:
    """Counts the live server's requests from the call of the WSGI app to the close of its response.

    A page's last requests (the annotator page's release beacon on ``pagehide``, a prefetch) can reach the server
    after the test's browser context is closed. Flushing the database under them deadlocks (TRUNCATE against their
    row locks) or leaves their rows in the next test, so the context fixture waits for the server to be quiet.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.active = 0
        self.last_seen = time.monotonic()

    def _change(self, step: int) -> None:
        with self.lock:
            self.active += step
            self.last_seen = time.monotonic()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._change(1)
        try:
            response = self.app(environ, start_response)
        except BaseException:
            self._change(-1)
            raise
        return _ClosingResponse(response, lambda: self._change(-1))

    def wait_until_quiet(self, *, quiet_seconds: float = 0.3, timeout_seconds: float = 10.0) -> None:
        """Return once no request has been running or arrived for ``quiet_seconds`` (fail after the timeout)."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self.lock:
                if self.active == 0 and time.monotonic() - self.last_seen >= quiet_seconds:
                    return
            time.sleep(0.05)
        pytest.fail(f"the live server still had {self.active} request(s) running {timeout_seconds} s after the test")


class _ClosingResponse:
    """A WSGI response that calls ``on_close`` once, when the server closes it."""

    def __init__(self, response: Any, on_close: Callable[[], None]) -> None:
        self.response = response
        self.on_close = on_close

    def __iter__(self) -> Any:
        return iter(self.response)

    def close(self) -> None:
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            self.on_close()


def live_server_requests(live_server: Any) -> RequestsInFlight:
    """The live server's request counter, installed on its WSGI server the first time it is asked for."""
    server = live_server.thread.httpd
    app = server.get_app()
    if not isinstance(app, RequestsInFlight):
        app = RequestsInFlight(app)
        server.set_app(app)
    return app


@pytest.fixture
def csp_violations() -> CspViolations:
    return CspViolations()


@pytest.fixture
def context(browser: Browser, live_server: Any, csp_violations: CspViolations) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies, no storage) per test; relative URLs go to the live server.

    Every page of the context reports Content-Security-Policy violations (the ``securitypolicyviolation`` event
    and Chromium's "Refused to ..." console errors); a test whose pages caused one fails at its end, and tests
    may check ``csp_violations`` earlier (``take()``) to name the page.
    """
    requests = live_server_requests(live_server)
    browser_context = browser.new_context(base_url=live_server.url)
    browser_context.set_default_timeout(TIMEOUT_MS)
    browser_context.set_default_navigation_timeout(TIMEOUT_MS)
    browser_context.expose_binding("__plausiCspViolation", lambda _source, text: csp_violations.append(str(text)))
    browser_context.add_init_script(REPORT_CSP_VIOLATIONS)

    def console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            csp_violations.append(f"console: {message.text}")

    browser_context.on("console", console)
    yield browser_context
    browser_context.close()
    requests.wait_until_quiet()  # before the database is flushed under the page's last requests
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def log_in() -> Callable[..., None]:
    """Log in through the login form like a person: type the username and password, press Enter."""

    def submit(page: Page, username: str, password: str = TEST_PASSWORD) -> None:
        page.goto("/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        with page.expect_navigation():
            page.locator("#id_password").press("Enter")

    return submit


@pytest.fixture
def sign_in(context: BrowserContext, live_server: Any) -> Callable[[Any], None]:
    """Give the browser context a session of a user without going through the form (for tests of other pages)."""

    def add_session(user: Any) -> None:
        client = Client()
        client.force_login(user)
        session_cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie.value, "url": live_server.url}]
        )

    return add_session


ARTIFACTS_DIR_ENV = "PLAUSI_TEST_ARTIFACTS"


@pytest.fixture
def screenshot() -> Callable[[Page, str], Any]:
    """Save a full-page screenshot as a test artifact: ``$PLAUSI_TEST_ARTIFACTS/screenshots/<name>.png`` (default
    ``test-artifacts/`` at the repository root, git-ignored; CI keeps the folder). Returns the file's path."""
    from pathlib import Path

    root = Path(os.environ.get(ARTIFACTS_DIR_ENV) or Path(__file__).resolve().parents[2] / "test-artifacts")
    folder = root / "screenshots"

    def save(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0, f"empty screenshot {path}"
        return path

    return save
