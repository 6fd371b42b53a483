"""Throttles keyed on the real client (core/client.py) or the user, that apply to every request, signed in or
not (DRF's ``AnonRateThrottle`` lets any request with credentials through, so an attacker holding any token was
never limited). A cache that is down lets requests through (logged): the limits slow abuse, they never lock
annotators out during a Redis outage."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from core.client import client_address

logger = logging.getLogger(__name__)


class _FailOpenRateThrottle(SimpleRateThrottle):
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
    rate = "30/min"


class UserRateThrottle(_FailOpenRateThrottle):
    """A rate per signed-in user (per address for anonymous requests), for expensive endpoints."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else client_address(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SchemaThrottle(UserRateThrottle):
    scope = "schema"
    rate = "30/min"
