"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py config.wsgi``); each can be overridden
on the command line or with GUNICORN_CMD_ARGS.

Threaded workers keep one keep-alive connection per annotator cheaply; garbage collection is tuned (below); the
GIL switch interval is lowered from
CPython's 5 ms because the worker's main thread (which accepts and dispatches requests) otherwise waits up to a
full interval behind request threads each time it needs the GIL, which showed as tail latency under load
(benchmarks/annotation_load.py, see docs/annotation.md).
"""

import gc
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from config.gc_warm_freeze import FreezeAfterRequests, request_counts

# Loopback by default: production trusts X-Forwarded-Proto and TRUSTED_PROXY_HOPS, so only the reverse proxy in
# front may reach gunicorn. WEB_BIND exposes it otherwise: "unix:/run/plausi/web.sock" (a proxy on the same host)
# or "0.0.0.0:8000" (a container whose only way in is the proxy's network).
bind = os.environ.get("WEB_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 30
backlog = 2048
timeout = 60
SWITCH_INTERVAL_SECONDS = float(os.environ.get("WEB_GIL_SWITCH_INTERVAL", "0.0005"))
# Garbage collection pauses every thread of a worker. Objects alive after start-up (Django, the models) are frozen
# out of the collector, and so are those the first requests make (GC_FREEZE_AFTER_REQUESTS below); the young
# generation is collected ten times less often: fewer, cheaper pauses in the latency tail (the answer path
# allocates short-lived objects that reference counting frees).
GC_THRESHOLD = (int(os.environ.get("WEB_GC_THRESHOLD", "7000")), 10, 10)
# WEB_GC_LOG_MS=N logs every collection that pauses a worker N ms or more (with its generation and how many
# unreachable objects it freed), to tell garbage collection pauses from other stalls.
GC_LOG_MS = float(os.environ.get("WEB_GC_LOG_MS", "0"))
# What the first requests make (views, serializers, the URL map, connections) is frozen too, once each of these
# request counts is reached (config/gc_warm_freeze.py); empty turns it off.
GC_FREEZE_AFTER_REQUESTS = request_counts(os.environ.get("WEB_GC_FREEZE_AFTER_REQUESTS", "100,1000,10000"))
# Prometheus multiprocess mode (core/metrics.py): each worker writes its request metrics to files in this folder and
# a scrape of any worker sums them. Set before any worker imports prometheus_client; emptied when gunicorn starts
# (a restart begins at zero, which Prometheus reads as a counter reset) and removed when it stops if we made it.
PROMETHEUS_DIR_MADE_HERE = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
PROMETHEUS_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"plausi-prometheus-{os.getpid()}")
)


def on_starting(server: Any) -> None:
    os.makedirs(PROMETHEUS_DIR, exist_ok=True)
    for name in os.listdir(PROMETHEUS_DIR):
        if name.endswith(".db"):
            os.remove(os.path.join(PROMETHEUS_DIR, name))


def child_exit(server: Any, worker: Any) -> None:
    """A worker's counters and histograms stay (their totals still count); its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, PROMETHEUS_DIR)


def on_exit(server: Any) -> None:
    if PROMETHEUS_DIR_MADE_HERE:
        shutil.rmtree(PROMETHEUS_DIR, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    # gunicorn has loaded the application (config.wsgi) before this hook: freeze what start-up allocated
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    if GC_LOG_MS > 0:
        gc.callbacks.append(_gc_logger(worker))
    worker.plausi_gc_freeze = FreezeAfterRequests(
        after_requests=GC_FREEZE_AFTER_REQUESTS,
        report=lambda served, paused_ms, frozen: worker.log.info(
            "gc: froze %s long-lived objects after %s requests (paused %.1f ms)", frozen, served, paused_ms
        ),
    )


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    freeze = getattr(worker, "plausi_gc_freeze", None)
    if freeze is not None:
        freeze.request_served()


def _gc_logger(worker: Any) -> Any:
    """A gc callback that logs each collection pausing the worker GC_LOG_MS or more (every thread waits for it)."""
    started = [0.0]

    def log_slow_collections(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        paused_ms = (time.perf_counter() - started[0]) * 1000
        if paused_ms >= GC_LOG_MS:
            worker.log.warning(
                "gc: generation %s paused the worker %.1f ms (%s unreachable objects collected)",
                info.get("generation"),
                paused_ms,
                info.get("collected"),
            )

    return log_slow_collections
