"""When the database cannot answer a request now: a 503 with ``Retry-After``, not a 500; and a bound on how long
a web request's statement may run.

Why: the web process serves every request from a few threads (config/web_process.py: 2 workers x 2 threads by
default). granian has no worker timeout, so a statement that waits on a lock that somebody holds for minutes (a
maintenance job, a stuck transaction) or that runs away would hold its thread for as long, and four of them stop
the whole site. ``WEB_STATEMENT_TIMEOUT`` (seconds, default 30; 0 switches it off) is set as PostgreSQL's
``statement_timeout`` on each database connection the web process opens (``web_statement_timeout_install``,
called by config/wsgi.py, so only processes that serve HTTP get it: Celery's long COPYs, scorings and exports do
not). A statement cancelled by it, like any error that says the database is unreachable or overloaded (PostgreSQL
restarting, too many connections, a lock or deadlock timeout: Django's ``OperationalError`` and
``InterfaceError``), is answered with 503 and ``Retry-After: 5``: a JSON ``{"detail": ...}`` under /api/ (every
operation of the OpenAPI schema lists it), a short page elsewhere. The failing statement's transaction is rolled
back (the answer path writes in one transaction, so a retried answer with its idempotency key is stored once; a
view that commits in several steps may have committed the steps before it). It is still logged as an error with its
traceback, as a 500 would be, under the request's id. Errors that are the application's own (a bad query, an
integrity error) stay 500s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
API_MESSAGE = "The database is unavailable or too slow right now. Try again in a few seconds."
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Try again shortly - Plausi</title>"
    "<h1>Plausi cannot reach its database right now</h1>"
    "<p>Please try again in a few seconds.</p></html>"
)


# SQLite reports a schema that does not match the code (a database not migrated) as an OperationalError too;
# PostgreSQL's are ProgrammingErrors. Waiting does not mend them: they stay 500s, with the real error logged.
SQLITE_SCHEMA_ERRORS = ("no such table", "no such column", "has no column named")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot answer now (unreachable, restarting, overloaded, a statement
    cancelled by its timeout, a lock or deadlock timeout), as opposed to a fault of the request or the code."""
    if isinstance(error, OperationalError) and any(part in str(error) for part in SQLITE_SCHEMA_ERRORS):
        return False
    return isinstance(error, OperationalError | InterfaceError)


def unavailable_response(path: str) -> HttpResponse:
    """The 503 for a request to ``path``: JSON under /api/, a page elsewhere."""
    response: HttpResponse
    if path.startswith("/api/"):
        response = JsonResponse({"detail": API_MESSAGE}, status=503)
    else:
        response = HttpResponse(PAGE, content_type="text/html; charset=utf-8", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unavailable_logged(request: HttpRequest | None, path: str, error: BaseException) -> None:
    logger.error(
        "Service Unavailable (database): %s: %s",
        path,
        error,
        exc_info=(type(error), error, error.__traceback__),
        extra={"status_code": 503, "request": request},
    )


class DatabaseUnavailableMiddleware:
    """Turns a view's database-unavailable error into the 503 above (``process_exception``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        unavailable_logged(request, request.path, exception)
        response = unavailable_response(request.path)
        # logged above with the traceback: Django's handler would add a second line (django.request) for the 5xx
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response


def web_statement_timeout_milliseconds() -> int:
    """``WEB_STATEMENT_TIMEOUT`` in milliseconds (0: no limit)."""
    return max(0, round(float(settings.WEB_STATEMENT_TIMEOUT) * 1000))


def _set_statement_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    milliseconds = web_statement_timeout_milliseconds()
    if connection.vendor != "postgresql" or not milliseconds:
        return
    with connection.cursor() as cursor:
        # set_config, not SET: parameters are bound on the server (DATABASE_PREPARED_STATEMENTS)
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{milliseconds}ms"])


def web_statement_timeout_install() -> None:
    """Give every database connection this process opens from now on the web's statement timeout."""
    connection_created.connect(_set_statement_timeout, dispatch_uid="plausi-web-statement-timeout")
