"""`plausi start` runs the real production stack: production settings (DEBUG off) on the test PostgreSQL and a
Redis database of its own, a free port, a temporary STATIC_ROOT; it migrates, collects the static files, starts
the web process (granian), the Celery worker, beat and the outbox relay. Chromium then visits every page that
needs no object id as a user with every role: each stylesheet and script the page names has a hashed name and
answers 200 from the app itself (WhiteNoise), gzip-compressed, and the page raises no error. Every CSS and JS file
of ours answers the same way under its hashed name. SIGTERM then stops every process of the stack, and the
launcher exits 0."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Browser, ConsoleMessage, Request, Response

from tests.config.test_settings import GOOD_PRODUCTION_ENV
from tests.conftest import ROOT, child_database_url, free_port
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_payloads import NO_CANDIDATE_TEXT, PAGES
from tests.factories import UserFactory, api_key_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BROKER_URL = "redis://127.0.0.1:6379/13"  # a database of its own: production's keys carry no test prefix
PASSWORD = "stack-test-password-1"
HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.(css|js)$")
# POST only, gone, JSON or text (Prometheus' /metrics refuses what comes through the proxy, as these requests say)
NOT_PAGES = {"logout", "curation-batches-create", "account-token-revoke", "dashboard-plot", "api-schema", "metrics"}
START_TIMEOUT_SECONDS = 60


@dataclass
class Stack:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    static_root: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def database_url() -> str:
    return child_database_url()


@pytest.fixture
def stack(tmp_path: Path, transactional_db: None) -> Iterator[Stack]:
    port = free_port()
    unset = {"DJANGO_SETTINGS_MODULE", "PLAUSI_VAR_DIR", "STATIC_ROOT", "PRIVATE_MEDIA_ROOT", "CACHE_URL"}
    env = {
        **{key: value for key, value in os.environ.items() if key not in unset},
        **GOOD_PRODUCTION_ENV,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        # Chromium talks plain HTTP to the app that believes itself behind TLS: its Origin is http://
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
        "WORKER_CONCURRENCY": "1",
        "PLAUSI_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "PLAUSI_MODEL_ROOT": str(tmp_path / "models"),
        "PLAUSI_FEATURE_ROOT": str(tmp_path / "features"),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "stack.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.cli", "start", "--stop-timeout", "20"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Stack(url=f"http://127.0.0.1:{port}", process=process, log=log, static_root=tmp_path / "static")
    try:
        yield running
    finally:
        if process.poll() is None:  # the test failed before it stopped the stack
            # The stack's own processes only: this test session's other children (the session's Celery worker,
            # whose command line names "config" too) must live on, or one failure here fails every worker test.
            stack_processes: list[psutil.Process] = []
            with contextlib.suppress(psutil.Error):
                stack_processes = psutil.Process(process.pid).children(recursive=True)
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            for child in stack_processes:
                with contextlib.suppress(psutil.Error):
                    child.kill()


def wait_until_started(stack: Stack) -> None:
    """The web answers, the worker is ready and beat has started (their own log lines say so)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert stack.process.poll() is None, f"plausi start exited:\n{stack.output()[-4000:]}"
        output = stack.output()
        if "ready." in output and "beat: Starting" in output:
            try:
                if httpx.get(f"{stack.url}/healthz/live", headers={"X-Forwarded-Proto": "https"}).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    pytest.fail(f"the stack did not start within {START_TIMEOUT_SECONDS} s:\n{stack.output()[-4000:]}")


def pages_without_arguments() -> list[str]:
    paths = []
    for name in sorted({*PAGES, *NO_CANDIDATE_TEXT} - NOT_PAGES):
        try:
            paths.append(reverse(name))
        except NoReverseMatch:  # a page of one object (a batch, an edge, a run): its static files are checked below
            continue
    return [*paths, reverse("admin:index")]


def test_plausi_start_serves_every_pages_css_and_js_hashed_and_compressed_then_stops_cleanly(
    stack: Stack, browser: Browser
) -> None:
    user = UserFactory(username="stackadmin", role="admin")
    for role in ("annotator", "curator"):
        user.groups.add(user.groups.model.objects.get(name=role))
    # production hashes passwords with PBKDF2 (the tests' MD5 hasher is not among its hashers)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())  # type: ignore[assignment]
    user.save()
    wait_until_started(stack)
    children = psutil.Process(stack.process.pid).children(recursive=True)
    commands = " ".join(" ".join(child.cmdline()) for child in children)
    for part in ("config.web", "worker", "beat", "outbox_relay"):
        assert part in commands

    # behind its TLS proxy: production redirects plain HTTP and trusts X-Forwarded-Proto
    context = browser.new_context(base_url=stack.url, extra_http_headers={"X-Forwarded-Proto": "https"})
    context.set_default_timeout(TIMEOUT_MS)
    served: dict[str, Response] = {}
    failed: list[str] = []
    errors: list[str] = []
    context.on("response", lambda response: served.__setitem__(response.url, response))

    def request_failed(request: Request) -> None:
        # a page's own fetches (the API docs' schema) may be cut short by the next page: not counted; nor the
        # favicon, which Chromium fetches after the load event and drops when the next page starts
        if "/static/" in request.url and not ("favicon" in request.url and request.failure == "net::ERR_ABORTED"):
            failed.append(f"{request.url}: {request.failure}")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    context.on("requestfailed", request_failed)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", console)

    page.goto("/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#id_password").press("Enter")
    assert "/login/" not in page.url, f"the login did not go through: {page.content()[:3000]}"

    seen_assets: set[str] = set()
    html_pages = []
    for path in pages_without_arguments():
        response = page.goto(path, wait_until="load")
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        if not response.headers["content-type"].startswith("text/html"):  # the health checks' JSON
            continue
        html_pages.append(path)
        assets: list[str] = page.evaluate(
            """() => [
              ...[...document.querySelectorAll('link[rel=stylesheet]')].map((link) => link.href),
              ...[...document.querySelectorAll('script[src]')].map((script) => script.src),
            ]"""
        )
        assert any(asset.endswith(".css") for asset in assets), f"{path} names no stylesheet"
        # every stylesheet was applied: its rules are readable (same origin) and not empty
        sheets: list[int] = page.evaluate("() => [...document.styleSheets].map((sheet) => sheet.cssRules.length)")
        assert sheets and all(sheets), f"{path}: a stylesheet did not load ({sheets})"
        for asset in assets:
            response = served.get(asset)
            assert response is not None and response.status == 200, f"{path}: {asset} answered {response}"
            if not asset.startswith(f"{stack.url}/static/"):  # the API docs' start-up script, made by its view
                continue
            assert HASHED.search(asset), f"{path}: {asset} is not a hashed static name"
            assert response.headers.get("content-encoding") == "gzip", f"{path}: {asset} is not compressed"
            assert "immutable" in response.headers.get("cache-control", "")
            seen_assets.add(asset)
    assert {"/", "/login/", "/annotate/", "/dashboard/", "/graph/", "/admin/", "/api/docs/"} <= set(html_pages)
    assert not failed, failed
    assert not errors, errors
    context.close()

    # every CSS and JS file of ours, including those of the pages of one object (a batch's audit, ...)
    manifest = json.loads((stack.static_root / "staticfiles.json").read_text())["paths"]
    ours = [name for name in manifest if name.startswith(("css/", "js/", "vendor/")) and name.endswith((".css", ".js"))]
    assert {"css/plausi.css", "js/audit.js", "js/graph.js", "vendor/chartjs/chart.umd.min.js"} <= set(ours)
    with httpx.Client(base_url=stack.url, headers={"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}) as client:
        for name in ours:
            answer = client.get(f"/static/{manifest[name]}")
            assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip", name
    assert seen_assets, "no page named a static file"

    # the annotation API's lean path (annotation/fast.py) under production settings: behind the proxy it answers
    # with the production headers; plain HTTP is still redirected (the general path's SecurityMiddleware)
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Token {api_key_for(user)}"}) as client:
        answer = client.get("/api/annotation/next", headers={"X-Forwarded-Proto": "https", "X-Request-ID": "stack-1"})
        assert answer.status_code == 200 and answer.json()["step"] is None, answer.text
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert answer.headers["x-request-id"] == "stack-1" and answer.headers["x-frame-options"] == "DENY"
        assert client.get("/api/annotation/next").status_code == 301

    # SIGHUP reloads the web workers and nothing else; SIGUSR1 makes the Celery worker log its threads; SIGUSR2 is
    # nobody's. The stack stays whole: beat, the outbox relay and the worker would die of a signal they do not handle.
    parts = psutil.Process(stack.process.pid).children()  # web, worker, beat, outbox: the launcher's own children
    for signum in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        stack.process.send_signal(signum)
    deadline = time.monotonic() + 20
    while "SIGUSR2 passed on" not in stack.output() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # long enough for a process killed by one of them to be seen by the launcher
    assert stack.process.poll() is None, stack.output()[-4000:]
    output = stack.output()
    assert "exited with code" not in output, output[-4000:]
    assert "SIGHUP passed on to web\n" in output and "SIGUSR1 passed on to worker\n" in output, output[-4000:]
    assert "LOCAL VARIABLES" in output, output[-4000:]  # the worker's stack dump (Celery's SIGUSR1 handler)
    assert len(parts) == 4 and all(part.is_running() for part in parts), parts
    with httpx.Client(base_url=stack.url, headers={"X-Forwarded-Proto": "https"}) as client:
        assert client.get("/healthz/live").status_code == 200  # served by the reloaded workers

    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=40) == 0, stack.output()[-4000:]
    assert psutil.wait_procs(children, timeout=5)[1] == [], "a process of the stack outlived the launcher"
    output = stack.output()
    assert "Traceback" not in output, output[-4000:]
