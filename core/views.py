"""The health checks (no login: load balancers and orchestrators call them).

- ``/healthz/live``: liveness. The process answers HTTP; nothing else is checked, so a dependency's outage never
  makes an orchestrator restart healthy web processes.
- ``/healthz/ready``: readiness. 200 while the database answers, 503 when it does not (no page or API call can
  work without it). The broker is reported but never makes it 503: while the broker is down, writes that start
  work queue their messages in the outbox (core/outbox.py) and annotators keep working, so a load balancer must
  not cut them off. The body's ``status`` is then ``degraded`` with the broker's error.
- ``/healthz``: the same as ready (kept for probes configured before the split).

And ``/metrics``: Prometheus metrics (core/metrics.py), for the loopback and private networks or a bearer token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
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


def _run_check(name: str, check: Callable[[], str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result: dict[str, Any] = {"status": check()}
    except Exception as exc:  # any failure of a dependency is reported, not a 500
        logger.warning("health check %s failed: %s", name, exc)
        result = {"status": "error", "error": type(exc).__name__}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


@never_cache
@require_GET
def healthz_live(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 whenever the process can answer; checks no dependency (restart only a hung process)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def healthz_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 only when the database fails; a broker outage is ``degraded`` and stays 200 (the outbox)."""
    database = _run_check("database", _check_database)
    broker = _run_check("broker", _check_broker)
    if database["status"] != "ok":
        status, code = "error", 503
    elif broker["status"] != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "database": database, "broker": broker}, status=code)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The original health check, now the same as readiness (see the module docstring)."""
    return healthz_ready(request)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text exposition; 403 unless ``metrics_request_allowed`` (docs/operations.md)."""
    from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

    from core.metrics import metrics_exposition, metrics_request_allowed

    if not metrics_request_allowed(request):
        return HttpResponse(
            "Metrics are served to the monitoring network or with its token only.\n",
            content_type="text/plain; charset=utf-8",
            status=403,
        )
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for whatever a page links: a redirect to the SVG icon (resolved per
    request, so that the hashed name of the production static storage is used), not a 404 in the log."""
    from django.templatetags.static import static

    response = HttpResponsePermanentRedirect(static("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
