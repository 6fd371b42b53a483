"""The web process (config/web.py, ``plausi-web``): where it binds, which server runs it, what a request's environ
holds under granian, and how the granian server answers the launcher's signals (a real process)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import psutil
import pytest

from config.launcher import command_argv
from config.processes import PROCESSES
from config.web import bind_address
from config.web_process import environ_without_process_values, web_bind
from tests.conftest import ROOT, free_port, process_stop, wait_until, web_live, web_spawn, web_workers


def test_the_web_process_binds_to_loopback_unless_told_otherwise() -> None:
    """Production trusts X-Forwarded-Proto (and TRUSTED_PROXY_HOPS): only the proxy in front may reach it."""
    assert web_bind({}) == "127.0.0.1:8000"
    assert web_bind({"PORT": "9001"}) == "127.0.0.1:9001"
    assert web_bind({"WEB_BIND": "unix:/run/plausi/web.sock", "PORT": "9001"}) == "unix:/run/plausi/web.sock"
    assert bind_address("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert bind_address("0.0.0.0:8000") == ("0.0.0.0", 8000)  # noqa: S104  (what a container's WEB_BIND says)
    assert bind_address("[::1]:8000") == ("::1", 8000)
    assert bind_address("unix:/run/plausi/web.sock") == Path("/run/plausi/web.sock")


@pytest.mark.parametrize("bind", ["8000", "localhost", "localhost:http", "host:70000", "unix:", ":8000"])
def test_a_bad_bind_is_refused_naming_the_variable(bind: str) -> None:
    with pytest.raises(ValueError, match="WEB_BIND"):
        bind_address(bind)


def test_the_launcher_runs_plausi_web_with_its_own_python() -> None:
    web = next(spec for spec in PROCESSES if spec.name == "web")
    assert command_argv(web, {}, python="/opt/py") == ["/opt/py", "-m", "config.web"]


def test_an_unknown_server_or_a_bad_bind_stops_the_web_process_with_a_message() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    command = [sys.executable, "-m", "config.web"]
    unknown = subprocess.run(command, cwd=ROOT, env={**env, "WEB_SERVER": "uwsgi"}, capture_output=True, text=True)
    assert unknown.returncode == 1 and "WEB_SERVER='uwsgi'; known: granian, gunicorn" in unknown.stderr
    bad = subprocess.run(command, cwd=ROOT, env={**env, "WEB_BIND": "8000"}, capture_output=True, text=True)
    assert bad.returncode == 1 and "WEB_BIND: '8000' is neither host:port nor unix:/path" in bad.stderr


def test_a_request_environ_keeps_what_the_request_set_and_loses_the_process_environment() -> None:
    secret = "s3cr3t-" + "x" * 40
    process = [("SECRET_KEY", secret), ("HTTP_X_TRACE", "process's"), ("PATH", "/usr/bin")]
    environ = dict(process)
    environ.update({"PATH_INFO": "/healthz", "HTTP_X_TRACE": "request's", "REQUEST_METHOD": "GET"})
    environ_without_process_values(environ, process)
    assert environ == {"PATH_INFO": "/healthz", "HTTP_X_TRACE": "request's", "REQUEST_METHOD": "GET"}


def test_granians_workers_hand_django_no_variable_of_the_process_environment() -> None:
    """config.web_worker's application, called as granian calls it (the process environment, then the request's
    keys), passes Django an environ without the process's variables and serves the request."""
    script = textwrap.dedent(
        """
        import os, sys
        import config.web_worker as worker
        seen = {}
        inner = worker._django_application
        def capture(environ, start_response):
            seen.update(environ)
            return inner(environ, start_response)
        worker._django_application = capture
        request = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz/live", "QUERY_STRING": "", "SERVER_NAME": "t",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost",
                   "wsgi.url_scheme": "http", "wsgi.input": __import__("io").BytesIO(b"")}
        statuses = []
        body = b"".join(worker.application(dict(os.environ) | request, lambda s, h, e=None: statuses.append(s)))
        leaked = sorted(name for name in ("PLAUSI_TEST_MARKER", "SECRET_KEY", "PATH") if name in seen)
        print(statuses[0], leaked, "HTTP_HOST" in seen, body.decode())
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PLAUSI_TEST_MARKER": "do-not-leak",
        "SECRET_KEY": "t" * 60,
    }
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2].startswith("200 OK [] True"), result.stdout


def _workers(master: int) -> set[int]:
    return set(web_workers(master))


def _one_worker_other_than(master: int, before: set[int]) -> bool:
    now = _workers(master)  # read once: the set changes while a worker is replaced
    return len(now) == 1 and not now & before


def test_granian_replaces_a_dead_worker_reloads_on_sighup_ignores_sigusr1_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    web = web_spawn(env, port, "test-web-signals.log")
    url = f"http://127.0.0.1:{port}/healthz/live"

    def serves() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(serves, timeout=60), (ROOT / "var" / "test-web-signals.log").read_text()
        assert wait_until(lambda: len(_workers(web.pid)) == 1, timeout=10)
        first = _workers(web.pid)
        web.send_signal(signal.SIGUSR1)  # an operator used to gunicorn sends it to reopen the logs
        assert serves() and web.poll() is None and _workers(web.pid) == first
        (victim,) = first
        os.kill(victim, signal.SIGKILL)  # a worker that dies is replaced by a new process that serves
        assert wait_until(lambda: _one_worker_other_than(web.pid, first), timeout=30)
        assert wait_until(serves, timeout=30)
        replaced = _workers(web.pid)
        started = time.monotonic()
        web.send_signal(signal.SIGHUP)  # replaces the workers (after a kill: granian exits on a worker that dies
        # within 5.5 s of a reload, taking it for a crash loop)
        assert wait_until(lambda: _one_worker_other_than(web.pid, replaced), timeout=30)
        assert wait_until(serves, timeout=30)
        reloaded = _workers(web.pid)
        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=40) == 0
        assert time.monotonic() - started < 15  # nothing waited for WEB_STOP_TIMEOUT (30 s)
        gone = first | reloaded | replaced
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in gone)
    finally:
        process_stop(web)


def test_a_new_granian_worker_marks_the_live_gauges_of_dead_workers_dead(tmp_path: Path) -> None:
    """granian has no hook when a worker dies (gunicorn's ``child_exit``): the worker that replaces it clears the
    dead one's live gauges; counters and histograms stay, and a live process's files are not touched."""
    from config.web_process import prometheus_dead_workers_mark

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    assert not psutil.pid_exists(dead)
    alive = os.getppid()
    names = [f"gauge_livesum_{dead}.db", f"gauge_liveall_{dead}.db", f"counter_{dead}.db", f"gauge_livesum_{alive}.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    prometheus_dead_workers_mark(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"counter_{dead}.db", f"gauge_livesum_{alive}.db"]
    )


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_web_access_log_writes_a_line_per_request_without_the_query_string(server: str) -> None:
    """``WEB_ACCESS_LOG=1``: one line per request on standard output with method, path, status, milliseconds and
    the proxy's X-Request-ID, under either server; the query string (where a token may travel) never."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    log = ROOT / "var" / f"test-web-access-{server}-{port}.log"
    web = web_spawn({**env, "WEB_ACCESS_LOG": "on"}, port, log.name, server=server)
    url = f"http://127.0.0.1:{port}"
    try:
        assert web_live(url), log.read_text()
        request_id = "4f1c0a9e8b7d6c5e4f3a2b1c0d9e8f7a"
        answered = httpx.get(f"{url}/healthz/live?token=not-for-the-log", headers={"X-Request-ID": request_id})
        missing = httpx.get(f"{url}/no-such-page/")
        assert (answered.status_code, missing.status_code) == (200, 404)
        line = re.compile(rf'"GET /healthz/live HTTP/1.1" 200 [0-9.]+ ms {request_id}$', re.MULTILINE)
        assert wait_until(lambda: bool(line.search(log.read_text())), timeout=10), log.read_text()
        assert re.search(r'"GET /no-such-page/ HTTP/1.1" 404 [0-9.]+ ms -$', log.read_text(), re.MULTILINE)
        assert "not-for-the-log" not in log.read_text()
    finally:
        process_stop(web)
        log.unlink(missing_ok=True)


def test_without_web_access_log_requests_write_no_line() -> None:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    log = ROOT / "var" / f"test-web-no-access-{port}.log"
    web = web_spawn({key: value for key, value in env.items() if key != "WEB_ACCESS_LOG"}, port, log.name)
    url = f"http://127.0.0.1:{port}"
    try:
        assert web_live(url), log.read_text()
        assert httpx.get(f"{url}/no-such-page/").status_code == 404
    finally:
        process_stop(web)
    assert '"GET /' not in log.read_text()  # (Django's own "Not Found: /no-such-page/" warning is there)
    log.unlink(missing_ok=True)


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_bad_web_access_log_value_stops_the_web_process_naming_the_variable(server: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "WEB_SERVER": server,
        "WEB_ACCESS_LOG": "maybe",
    }
    finished = subprocess.run([sys.executable, "-m", "config.web"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 1
    assert "plausi-web: WEB_ACCESS_LOG='maybe': use 1, true, yes, on or 0, false, no, off" in finished.stderr


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_settings_that_refuse_to_start_stop_the_web_process_with_one_line_before_any_worker(server: str) -> None:
    """Production's settings without a secret: one line naming what to set, no worker's traceback (granian
    used to spawn and respawn workers that each raised it, four tracebacks before it gave up)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "WEB_SERVER": server,
        "WEB_BIND": f"127.0.0.1:{free_port()}",
    }
    started = time.monotonic()
    finished = subprocess.run([sys.executable, "-m", "config.web"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 1
    assert finished.stderr.startswith("plausi-web: Set SECRET_KEY to a random value"), finished.stderr
    assert "Traceback" not in finished.stdout + finished.stderr and "worker" not in finished.stdout + finished.stderr
    assert time.monotonic() - started < 20
