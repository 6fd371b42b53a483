"""The health check (no login: load balancers call it)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    from config.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=2)
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers: the database and the broker, each ok or error."""
    report: dict[str, Any] = {}
    healthy = True
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        started = time.monotonic()
        try:
            report[name] = {"status": check()}
        except Exception as exc:  # any failure of a dependency is "not ready", not a 500
            logger.warning("health check %s failed: %s", name, exc)
            report[name] = {"status": "error", "error": type(exc).__name__}
            healthy = False
        report[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    report["status"] = "ok" if healthy else "error"
    return JsonResponse(report, status=200 if healthy else 503)
