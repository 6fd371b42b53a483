"""The real client's address, for limits that key on it.

``REMOTE_ADDR`` is the address of whoever opened the TCP connection: the client itself, or the reverse proxy in
front of the web server. Behind ``TRUSTED_PROXY_HOPS`` proxies, each of which appends the address it received the
request from to ``X-Forwarded-For``, the client is the entry that many places from the end: entries before it were
written by the client and prove nothing. With the default 0 the header is ignored, so that no client can choose its
own address by sending one. (DRF's throttles read the same setting as ``NUM_PROXIES``.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_address(request: Any) -> str:
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    hops = int(settings.TRUSTED_PROXY_HOPS)
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(hops, len(forwarded))][:64]
