"""The application as granian's workers load it (config/web.py): config.wsgi, with what gunicorn's hooks do
around it (config/gunicorn.py) done here, once per worker at import and once per request.

One more thing: granian starts every request's environ from a copy of the process environment (its WSGI
callback), so ``request.META`` would hold ``SECRET_KEY``, ``DATABASE_URL`` and every other variable of the
process, where an error report or a log of the request could show them (and a variable named like a header,
``HTTP_PROXY``, would read as one). Each request's environ is cleaned of the values that came from the process
environment (config.web_process.environ_without_process_values).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from config.web_process import environ_without_process_values, prometheus_dead_workers_mark, worker_start
from config.wsgi import application as _django_application

_log = logging.getLogger("plausi.web")
_PROCESS_ENVIRONMENT = tuple(os.environ.items())
_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _folder:
    prometheus_dead_workers_mark(_folder)
_freeze = worker_start(_log)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ_without_process_values(environ, _PROCESS_ENVIRONMENT)
    try:
        return _django_application(environ, start_response)
    finally:
        _freeze.request_served()
