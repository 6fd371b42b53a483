"""gunicorn settings for the web process when ``WEB_SERVER=gunicorn`` (config/web.py runs
``gunicorn -c config/gunicorn.py config.wsgi``; granian is the default); each can be overridden on the command line
or with GUNICORN_CMD_ARGS.

Threaded workers keep one keep-alive connection per annotator cheaply. What every worker does at start (GIL switch
interval, garbage collection) and the Prometheus folder are config/web_process.py's, shared with granian's workers.
"""

import shutil
from typing import Any

from config.web_process import (
    GUNICORN_ACCESS_FORMAT,
    THREADS,
    WORKERS,
    access_log_enabled,
    prometheus_dir_claim,
    prometheus_dir_empty,
    web_bind,
    worker_start,
)

bind = web_bind()
worker_class = "gthread"
workers = WORKERS
threads = THREADS
keepalive = 30
backlog = 2048
timeout = 60
# WEB_ACCESS_LOG (config/web_process.py): the same fields as granian's line, on standard output
accesslog = "-" if access_log_enabled() else None
access_log_format = GUNICORN_ACCESS_FORMAT
PROMETHEUS_DIR, PROMETHEUS_DIR_MADE_HERE = prometheus_dir_claim()


def on_starting(server: Any) -> None:
    prometheus_dir_empty(PROMETHEUS_DIR)


def child_exit(server: Any, worker: Any) -> None:
    """A worker's counters and histograms stay (their totals still count); its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, PROMETHEUS_DIR)


def on_exit(server: Any) -> None:
    if PROMETHEUS_DIR_MADE_HERE:
        shutil.rmtree(PROMETHEUS_DIR, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    # gunicorn has loaded the application (config.wsgi) before this hook
    worker.plausi_gc_freeze = worker_start(worker.log)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    freeze = getattr(worker, "plausi_gc_freeze", None)
    if freeze is not None:
        freeze.request_served()
