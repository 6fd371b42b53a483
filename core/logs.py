"""What each log record says about its request or task, and the JSON log format (``LOG_FORMAT=json``).

``RequestContextMiddleware`` gives every request an id (the proxy's ``X-Request-ID`` when it sends a sane one,
else a new one) and sends it back in ``X-Request-ID``; a Celery worker's task sets its id and name
(core/task_outcomes.py). ``LogContextFilter``, on the console handler, copies them onto every record logged
meanwhile: the JSON formatter writes them as fields (``request_id``, ``path``, ``method``; ``task_id``,
``task``), and the plain format ignores them. They live in context variables, so each thread of a gthread worker
and each request keeps its own, and they are reset when the request or task ends.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from django.http import HttpRequest, HttpResponse

_request_context: ContextVar[dict[str, str] | None] = ContextVar("plausi_request_context", default=None)
_task_context: ContextVar[dict[str, str] | None] = ContextVar("plausi_task_context", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# The JSON formatter (python-json-logger): one object per line; these names replace logging's own.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"}


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The ``LOGGING`` setting: human-readable lines (``plain``, the default) or one JSON object per line
    (``json``): time (ISO 8601), level, logger, message, the request's or task's context where there is one, and
    the exception's traceback as ``exception``."""
    if log_format not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT must be 'plain' or 'json', not {log_format!r}")
    formatters: dict[str, Any] = {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": JSON_RENAMED,
            "timestamp": False,
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "filters": {"context": {"()": "core.logs.LogContextFilter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


class LogContextFilter(logging.Filter):
    """Copies the current request's or task's context onto each record (never overwriting what it has)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for context in (_request_context.get(), _task_context.get()):
            if context:
                for key, value in context.items():
                    if not hasattr(record, key):
                        setattr(record, key, value)
        return True


def request_id_of(request: HttpRequest) -> str:
    return request_id_from(request.META.get("HTTP_X_REQUEST_ID", ""))


def request_id_from(supplied: str) -> str:
    """The proxy's ``X-Request-ID`` when it is sane, else a new id (32 hex digits, as a UUID's; an id to find a
    request by, not a secret, so the cheap generator serves)."""
    return supplied if _SANE_ID.fullmatch(supplied) else f"{random.getrandbits(128):032x}"


def request_context_enter(*, request_id: str, method: str, path: str) -> Token[dict[str, str] | None]:
    """For a request answered outside the middleware (annotation/fast.py): what ``RequestContextMiddleware`` sets;
    pass the result to ``request_context_exit`` when the request ends."""
    return _request_context.set({"request_id": request_id, "method": method, "path": path})


def request_context_exit(token: Token[dict[str, str] | None]) -> None:
    _request_context.reset(token)


class RequestContextMiddleware:
    """Sets the request's log context (id, method, path) for the duration of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        token = _request_context.set({"request_id": request_id, "method": request.method or "", "path": request.path})
        try:
            response = self.get_response(request)
        finally:
            _request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


def task_context_set(*, task_id: str, task_name: str) -> Token[dict[str, str] | None]:
    return _task_context.set({"task_id": task_id, "task": task_name})


def task_context_reset(token: Token[dict[str, str] | None]) -> None:
    try:
        _task_context.reset(token)
    except ValueError:  # set in another context (a thread other than the one that ran the task): just clear it
        _task_context.set(None)
