"""Prometheus metrics (prometheus-client): request latency recorded by each web process, domain figures read at
scrape time, and who may read them. docs/operations.md lists every metric.

* **Latency**: ``RequestMetricsMiddleware`` observes each request in a histogram labelled by the resolved URL's
  name (``view``; never the raw path, so the label's values are the URL map's names, a bounded set), the method
  and the status class (``2xx``...). Under gunicorn each worker process writes its own samples to memory-mapped
  files in ``PROMETHEUS_MULTIPROC_DIR`` (config/gunicorn.py makes a fresh one at start and marks dead workers), and
  a scrape of any worker sums them all: the figures do not depend on which worker answered.
* **Domain figures**: apps register sources (``metrics_source_register``; pipeline/metrics.py registers the
  pipeline's: answers, queue depth, runs, the outbox, Celery task outcomes). A scrape calls them, at most once
  every ``METRICS_CACHE_SECONDS`` across all web processes (the shared cache holds their plain values), and a
  source that fails (the database is down) is reported by ``plausi_metrics_source_up 0``, never as a 500.
* **Access** (``metrics_request_allowed``): ``Authorization: Bearer $METRICS_TOKEN``, or a direct connection
  from ``METRICS_ALLOW_NETWORKS`` (loopback and private networks). A request that came through the reverse proxy
  (it carries ``X-Forwarded-For``, ``X-Forwarded-Proto``, ``X-Real-IP`` or ``Forwarded``) is judged by the client
  address the trusted proxies give (``TRUSTED_PROXY_HOPS``, core/client.py), never by the proxy's own address,
  so the public reaching the proxy never passes as loopback.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.cache import cache_get, cache_set
from core.client import client_address

logger = logging.getLogger(__name__)

# Seconds: the answer path takes milliseconds, an upload or a report up to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNRESOLVED = "<unresolved>"  # a 404, or a redirect before any URL matched (a missing slash)

disable_created_metrics()  # no "_created" series: multiprocess mode has none, so neither does a single process
REQUEST_SECONDS = Histogram(
    "plausi_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by URL name, method and status class.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


# --- latency --------------------------------------------------------------------------------------------------


class RequestMetricsMiddleware:
    """Observes every request's duration (outermost, so that it times the whole stack; it reads no body)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = match.view_name if match is not None else UNRESOLVED
        request_observe(view=view, method=request.method or "", status_code=response.status_code, started=started)
        return response


def request_observe(*, view: str, method: str, status_code: int, started: float) -> None:
    """One request's duration (``started`` from ``time.perf_counter()``) in
    ``plausi_http_request_duration_seconds``; also called by the lean path that answers outside the middleware
    (annotation/fast.py)."""
    try:
        REQUEST_SECONDS.labels(view, method if method in METHODS else "other", f"{status_code // 100}xx").observe(
            time.perf_counter() - started
        )
    except OSError as exc:  # PROMETHEUS_MULTIPROC_DIR removed or full: lose the sample, never the request
        logger.warning("request metrics not recorded: %s", exc)


# --- domain figures -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A metric as plain values (so that the shared cache can hold it): a counter's name has no ``_total``."""

    name: str
    kind: str  # "gauge" or "counter"
    documentation: str
    labels: tuple[str, ...] = ()
    samples: tuple[tuple[tuple[str, ...], float], ...] = ()

    def metric(self) -> Metric:
        family: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        else:
            family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, value in self.samples:
            family.add_metric(list(values), value)
        return family


Source = Callable[[], Iterable[Family]]
_SOURCES: dict[str, Source] = {}
_CACHE_KEY = "metrics:domain"


def metrics_source_register(name: str, source: Source) -> None:
    """Called by an app's ``AppConfig.ready``: ``source()`` returns that app's figures at scrape time. It must be
    cheap at any pool size (estimates, counters kept by the code, capped counts), as a scrape may call it every
    ``METRICS_CACHE_SECONDS``."""
    _SOURCES[name] = source


def _read_sources() -> dict[str, tuple[Family, ...] | None]:
    read: dict[str, tuple[Family, ...] | None] = {}
    for name, source in _SOURCES.items():
        try:
            read[name] = tuple(source())
        except Exception as exc:  # the database is down, a statement timed out: say so in the metrics
            logger.warning("metrics source %s failed: %s: %s", name, type(exc).__name__, exc)
            read[name] = None
    return read


def domain_families() -> dict[str, tuple[Family, ...] | None]:
    """Every source's figures (None for a source that failed), through the shared cache."""
    seconds = float(settings.METRICS_CACHE_SECONDS)
    if seconds > 0:
        cached = cache_get(_CACHE_KEY)
        if cached is not None:
            return dict(cached)
    read = _read_sources()
    if seconds > 0 and all(families is not None for families in read.values()):
        cache_set(_CACHE_KEY, read, seconds)
    return read


class DomainCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        read = domain_families()
        up = GaugeMetricFamily(
            "plausi_metrics_source_up",
            "1 if the source's figures were read at this scrape, 0 if it failed.",
            labels=["source"],
        )
        for name, families in sorted(read.items()):
            up.add_metric([name], 0.0 if families is None else 1.0)
            for family in families or ():
                yield family.metric()
        yield up

    def describe(self) -> Iterator[Metric]:
        return iter(())  # registering must not read the database


class _ThisProcess(Collector):
    """The default registry's metrics (ours, and the process and Python collectors): single-process servers."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()

    def describe(self) -> Iterator[Metric]:
        return iter(())


def multiprocess_dir() -> str:
    """The folder of multiprocess mode, where set and present (gunicorn sets it; config/gunicorn.py)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    return path if path and os.path.isdir(path) else ""


def metrics_exposition() -> bytes:
    """The text exposition of every metric: all web processes' request metrics (multiprocess mode) or this
    process's, then the domain figures."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DomainCollector())
    return generate_latest(registry)


# --- access ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network.strip(), strict=False) for network in spec if network.strip())


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOW_NETWORKS)))


def _token_allowed(request: HttpRequest) -> bool:
    expected = str(settings.METRICS_TOKEN or "")
    scheme, _, supplied = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip(), expected)


def metrics_request_allowed(request: HttpRequest) -> bool:
    """The token, or a client address in ``METRICS_ALLOW_NETWORKS`` (see the module docstring)."""
    if _token_allowed(request):
        return True
    if any(request.META.get(header) for header in _PROXY_HEADERS):
        if int(settings.TRUSTED_PROXY_HOPS) <= 0 or not request.META.get("HTTP_X_FORWARDED_FOR"):
            return False  # came through a proxy whose client we cannot know
        return _address_allowed(client_address(request))
    return _address_allowed(str(request.META.get("REMOTE_ADDR", "")))
