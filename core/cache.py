"""The shared cache (Redis in production), used only where losing it is harmless: a cache that is down is a miss,
logged, never an error page. The answer path does not use it at all."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.cache import cache

logger = logging.getLogger(__name__)
_MISSING = object()
T = TypeVar("T")


def cache_get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except Exception as exc:  # Redis down or unreachable: treat as a miss
        logger.warning("cache get %s failed: %s", key, type(exc).__name__)
        return default


def cache_set(key: str, value: Any, timeout: float) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:
        logger.warning("cache set %s failed: %s", key, type(exc).__name__)


def cache_get_or_compute(key: str, compute: Callable[[], T], timeout: float) -> T:
    """The cached value of ``key``, or ``compute()`` stored for ``timeout`` seconds (a cache that is down: computed
    every time). For reads too costly for every page view (pool-wide counts)."""
    found = cache_get(key)
    if found is None:
        found = compute()
        cache_set(key, found, timeout)
    return cast(T, found)


def cache_count(key: str, timeout: float) -> None:
    """Add one to a counter that expires ``timeout`` seconds after its first count."""
    try:
        cache.add(key, 0, timeout)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout)
    except Exception as exc:
        logger.warning("cache count %s failed: %s", key, type(exc).__name__)


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return dict(cache.get_many(keys))
    except Exception as exc:
        logger.warning("cache get_many failed: %s", type(exc).__name__)
        return {}


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("cache delete %s failed: %s", key, type(exc).__name__)
