"""What every web worker does, whichever server runs it (config/web.py: granian by default, gunicorn with
``WEB_SERVER=gunicorn``): the settings both read from the environment, the worker's start-up (GIL switch interval,
garbage collection frozen and tuned) and the Prometheus multiprocess folder. Plain Python, no Django.

Why each: the GIL switch interval is lowered from CPython's 5 ms because a worker's dispatching thread otherwise
waits up to a full interval behind request threads each time it needs the GIL, which showed as tail latency under
load; garbage collection pauses every thread of a worker, so objects alive after start-up (Django, the models) are
frozen out of the collector, and so are those the first requests make (config/gc_warm_freeze.py), and the young
generation is collected ten times less often (benchmarks/annotation_load.py, docs/annotation.md).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from config.gc_warm_freeze import FreezeAfterRequests, request_counts

DEFAULT_PORT = "8000"
# Two processes of two threads: on the 2-core load benchmark (API protocol, tied pool, no warm-up, same session)
# 2 x 2 answered 377.6 and 347.8 answers/s at 100,000 and 1,000,000 candidates where 3 x 4 answered 316.2 and
# 307.3, with 15-19% less CPU per answer (fewer threads contending for the GIL and fewer database backends) and no
# worse a 200-client tail (docs/annotation.md, "Fewer web threads"). Larger machines: one process per core.
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
THREADS = int(os.environ.get("WEB_THREADS", "2"))
SWITCH_INTERVAL_SECONDS = float(os.environ.get("WEB_GIL_SWITCH_INTERVAL", "0.0005"))
GC_THRESHOLD = (int(os.environ.get("WEB_GC_THRESHOLD", "7000")), 10, 10)
# WEB_GC_LOG_MS=N logs every collection that pauses a worker N ms or more (with its generation and how many
# unreachable objects it freed), to tell garbage collection pauses from other stalls.
GC_LOG_MS = float(os.environ.get("WEB_GC_LOG_MS", "0"))
# What the first requests make (views, serializers, the URL map, connections) is frozen too, once each of these
# request counts is reached (config/gc_warm_freeze.py); empty turns it off.
GC_FREEZE_AFTER_REQUESTS = request_counts(os.environ.get("WEB_GC_FREEZE_AFTER_REQUESTS", "100,1000,10000"))


ACCESS_LOG_VALUES = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
# The access log's line, the same fields under both servers: time, client address, method, path (never the query
# string, which may carry a token), protocol, status, milliseconds in the application, and the proxy's X-Request-ID
# ("-" when it sends none), which the application's own log lines for that request carry too (core/logs.py).
GRANIAN_ACCESS_FORMAT = (
    '[%(time)s] %(addr)s "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1f ms %(header{x-request-id})s'
)
GUNICORN_ACCESS_FORMAT = '%(t)s %(h)s "%(m)s %(U)s %(H)s" %(s)s %(M)s ms %({x-request-id}i)s'


def access_log_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``WEB_ACCESS_LOG``: one line per request on standard output (off by default: behind a proxy its own access
    log usually serves, and a line per request costs the hot path a little). Raises ValueError naming the variable
    for a value that is neither on nor off."""
    environ = os.environ if environ is None else environ
    value = environ.get("WEB_ACCESS_LOG", "").strip().lower()
    if not value:
        return False
    if value not in ACCESS_LOG_VALUES:
        raise ValueError(f"WEB_ACCESS_LOG={value!r}: use 1, true, yes, on or 0, false, no, off")
    return ACCESS_LOG_VALUES[value]


def environ_without_process_values(environ: dict[str, Any], process: Iterable[tuple[str, str]]) -> None:
    """Removes from a request's WSGI ``environ`` every entry that holds the value of the process environment's
    variable of that name (granian starts each environ from a copy of ``os.environ``; config/web_worker.py). An
    entry the server set from the request (a header, the path) replaced the copy's and stays unless its value is
    the variable's too: a header named like a variable of the process (``HTTP_PROXY``) is dropped only then."""
    for name, value in process:
        if environ.get(name) == value:
            del environ[name]


def web_bind(environ: Mapping[str, str] | None = None) -> str:
    """Loopback by default: production trusts X-Forwarded-Proto and TRUSTED_PROXY_HOPS, so only the reverse proxy
    in front may reach the web process. WEB_BIND exposes it otherwise: "unix:/run/plausi/web.sock" (a proxy on the
    same host) or "0.0.0.0:8000" (a container whose only way in is the proxy's network)."""
    environ = os.environ if environ is None else environ
    return environ.get("WEB_BIND") or f"127.0.0.1:{environ.get('PORT') or DEFAULT_PORT}"


def prometheus_dir_claim() -> tuple[str, bool]:
    """The Prometheus multiprocess folder (core/metrics.py): each worker writes its request metrics to files there
    and a scrape of any worker sums them. Set in the environment before any worker imports prometheus_client;
    returns (folder, whether this process chose it, and so removes it when the server stops)."""
    made_here = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    folder = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"plausi-prometheus-{os.getpid()}")
    )
    return folder, made_here


def prometheus_dir_empty(folder: str) -> None:
    """A server that starts begins at zero (Prometheus reads it as a counter reset)."""
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def prometheus_dead_workers_mark(folder: str) -> None:
    """A dead worker's counters and histograms stay (their totals still count); its live gauges go. gunicorn calls
    ``mark_process_dead`` when it reaps a worker; granian has no such hook, so each new worker clears what the
    workers before it left (a worker replaces a dead one)."""
    from prometheus_client import multiprocess

    pids: set[int] = set()
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if name.startswith("gauge_live") and name.endswith(".db"):
            digits = name[: -len(".db")].rpartition("_")[2]
            if digits.isdigit():
                pids.add(int(digits))
    for pid in pids:
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid, folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_start(log: logging.Logger | Any) -> FreezeAfterRequests:
    """In a worker once the application is loaded: the switch interval, what start-up allocated frozen, the
    collector's thresholds; returns the freeze that the worker's requests advance (``request_served``)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    if GC_LOG_MS > 0:
        gc.callbacks.append(_gc_logger(log))
    return FreezeAfterRequests(
        after_requests=GC_FREEZE_AFTER_REQUESTS,
        report=lambda served, paused_ms, frozen: log.info(
            "gc: froze %s long-lived objects after %s requests (paused %.1f ms)", frozen, served, paused_ms
        ),
    )


def _gc_logger(log: logging.Logger | Any) -> Callable[[str, dict[str, int]], None]:
    """A gc callback that logs each collection pausing the worker GC_LOG_MS or more (every thread waits for it)."""
    started = [0.0]

    def log_slow_collections(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        paused_ms = (time.perf_counter() - started[0]) * 1000
        if paused_ms >= GC_LOG_MS:
            log.warning(
                "gc: generation %s paused the worker %.1f ms (%s unreachable objects collected)",
                info.get("generation"),
                paused_ms,
                info.get("collected"),
            )

    return log_slow_collections
