"""Throttles keyed on the real client (core/client.py) or the user, that apply to every request, signed in or
not (DRF's ``AnonRateThrottle`` lets any request with credentials through, so an attacker holding any token was
never limited). A cache that is down lets requests through (logged): the limits slow abuse, they never lock
annotators out during a Redis outage."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.client import client_address

logger = logging.getLogger(__name__)


class _FailOpenRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # DRF binds the rates when its module is imported; read them now, so that a changed setting applies.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(str(self.scope))
        return None if rate is None else str(rate)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))
        except Exception as exc:  # the cache is down
            logger.warning("throttle %s skipped: %s", self.scope, type(exc).__name__)
            return True


class ClientAddressRateThrottle(_FailOpenRateThrottle):
    """A rate per client address for every request."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class PasswordExchangeThrottle(ClientAddressRateThrottle):
    """The token endpoint, per address (the per-username limits are core/login.py's, shared with the pages)."""

    scope = "password"


class UserRateThrottle(_FailOpenRateThrottle):
    """A rate per signed-in user (per address for anonymous requests), for expensive endpoints."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else client_address(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SchemaThrottle(UserRateThrottle):
    """The OpenAPI schema (cached once built, but still a large response)."""

    scope = "schema"


class ReportThrottle(UserRateThrottle):
    """Reports computed over a whole table (agreement, learning curve, a filter run's report, the graph summary)."""

    scope = "reports"


class RunStartThrottle(UserRateThrottle):
    """Requests that start a run (ingest, filter, training, export, generation): each queues minutes of work.
    Reading run lists and details (which the pages poll) is not limited."""

    scope = "runs"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
