"""The web process (``plausi-web``; config/processes.py's ``web``): serves config.wsgi with granian, or with gunicorn
when ``WEB_SERVER=gunicorn``. Plain Python: this process imports only the settings module, to refuse a bad
configuration with one line before any worker starts (each worker loads the application).

Why granian by default: its HTTP/1.1 handling is native code outside the GIL, and the annotation API's two hot
requests spend most of their Python time in the application. On this project's 2-core load benchmark (tied pool of
100,000, API protocol, no warm-up, same session, interleaved), the web process's CPU per answer fell from
3.9-4.0 ms under gunicorn's threaded workers to 3.0 ms, capacity rose from 267-272 to 324-325 answers/s, and the
200-client p99 of next / answer from 33 / 47 to 23 / 36 ms (docs/annotation.md, "The web server").

Both servers read the same environment: ``WEB_BIND`` (or ``127.0.0.1:$PORT``; ``unix:/path`` for a socket),
``WEB_CONCURRENCY`` worker processes, ``WEB_THREADS`` threads each, config/web_process.py's GIL and garbage
collection settings, and ``WEB_ACCESS_LOG`` (a line per request, off by default). granian's workers are restarted
when they die; SIGHUP reloads them, SIGTERM and SIGINT stop the server after the requests in flight (up to
``WEB_STOP_TIMEOUT`` seconds, default 30).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

SERVERS = ("granian", "gunicorn")
WORKER_TARGET = "config.web_worker:application"


def bind_address(bind: str) -> tuple[str, int] | Path:
    """``host:port`` -> (host, port); ``unix:/path`` -> the socket's path. A bad value raises ValueError naming it."""
    if bind.startswith("unix:"):
        path = bind[len("unix:") :]
        if not path:
            raise ValueError("WEB_BIND: unix: needs a socket path (unix:/run/plausi/web.sock)")
        return Path(path)
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"WEB_BIND: {bind!r} is neither host:port nor unix:/path")
    return host.strip("[]"), int(port)


def gunicorn_argv(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "python:config.gunicorn", "config.wsgi", *extra]


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    server = os.environ.get("WEB_SERVER", "granian").strip().lower() or "granian"
    if server not in SERVERS:
        sys.exit(f"plausi-web: WEB_SERVER={server!r}; known: {', '.join(SERVERS)}")
    from config.web_process import access_log_enabled

    try:
        access_log_enabled()  # checked before either server starts: a bad value stops it with a message
    except ValueError as error:
        sys.exit(f"plausi-web: {error}")
    refusal = settings_refusal()
    if refusal:
        sys.exit(f"plausi-web: {refusal}")
    if server == "gunicorn":
        os.execv(sys.executable, gunicorn_argv(argv))  # noqa: S606  (gunicorn takes this process: signals reach it)
    if argv:
        sys.exit(f"plausi-web: granian takes its settings from the environment, not {' '.join(argv)!r}")
    _serve_with_granian()


def settings_refusal() -> str | None:
    """Why the settings every worker will load refuse to start (production's missing or placeholder secret, a
    missing database or broker URL, ...), or None. The settings module is imported once here, before any worker:
    otherwise each worker raises it with a traceback, granian respawns them and gives up after a few rounds (four
    tracebacks, 170 lines, for a missing SECRET_KEY), and gunicorn reports workers that failed to boot."""
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    try:
        importlib.import_module(os.environ.get("DJANGO_SETTINGS_MODULE") or "config.settings.production")
    except ImproperlyConfigured as error:
        return str(error)
    return None


def _serve_with_granian() -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.server import Server

    from config.web_process import (
        GRANIAN_ACCESS_FORMAT,
        THREADS,
        WORKERS,
        access_log_enabled,
        prometheus_dir_claim,
        prometheus_dir_empty,
        web_bind,
    )

    try:
        address = bind_address(web_bind())
    except ValueError as error:
        sys.exit(f"plausi-web: {error}")
    where: dict[str, object] = (
        {"uds": address} if isinstance(address, Path) else {"address": address[0], "port": address[1]}
    )
    # gunicorn reopens its logs on SIGUSR1; granian writes to standard error and would die of it (an operator's
    # habit from gunicorn; `plausi start` passes the web process only SIGHUP), so the server and its workers (exec
    # keeps it) ignore both.
    for ignored in (signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(ignored, signal.SIG_IGN)
    # Workers are spawned, not forked: granian's main process runs threads, and a worker it forked to replace a
    # dead one at times ignored SIGTERM and was killed after WEB_STOP_TIMEOUT (2 workers, one killed, then
    # SIGTERM: 30.1 s to stop forked, 0.14 s spawned; the metrics test of a killed worker took 23.6 s, now 4 s).
    # Each worker loads the application itself either way (granian imports the target in the worker).
    multiprocessing.set_start_method("spawn", force=True)
    folder, made_here = prometheus_dir_claim()  # in the environment before the workers start
    server = Server(
        WORKER_TARGET,
        interface=Interfaces.WSGI,
        workers=WORKERS,
        blocking_threads=THREADS,
        http=HTTPModes.http1,
        websockets=False,
        backlog=2048,
        respawn_failed_workers=True,
        workers_kill_timeout=int(os.environ.get("WEB_STOP_TIMEOUT", "30")),
        log_level=_log_level(),
        log_access=access_log_enabled(),
        log_access_format=GRANIAN_ACCESS_FORMAT,
        **where,  # type: ignore[arg-type]
    )
    server.on_startup(lambda: prometheus_dir_empty(folder))
    if made_here:
        server.on_shutdown(lambda: shutil.rmtree(folder, ignore_errors=True))
    server.serve()


def _log_level() -> Any:
    from granian.log import LogLevels

    name = os.environ.get("LOG_LEVEL", "INFO").strip().lower()
    return LogLevels(name) if name in {level.value for level in LogLevels} else LogLevels.info


if __name__ == "__main__":
    main()
