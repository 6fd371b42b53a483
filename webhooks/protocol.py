"""What goes on the wire, and when: Standard Webhooks signing, the endpoint URL rule and the retry schedule.

Plain Python (no Django), tested on its own; ``webhooks.services`` feeds it settings and rows.

Signing follows https://www.standardwebhooks.com/: a secret is ``whsec_`` + base64 of random bytes; each request
carries ``webhook-id`` (the message id: the same on every retry and replay of one event to one endpoint, so that a
receiver deduplicates), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}`` keyed with the decoded secret). The tests check
these bytes against the reference library's verifier (``standardwebhooks``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
SECRET_BYTES = 32  # the convention allows 24 to 64
MAX_URL_LENGTH = 2000


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def body_bytes(message: dict[str, Any]) -> bytes:
    """The request body of a message: compact UTF-8 JSON, the same bytes on every attempt."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "Plausi-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def url_problem(url: str) -> str | None:
    """Why an endpoint URL is refused, or None: http(s) only, a host, no credentials, no fragment, no spaces.
    Private and loopback hosts are allowed (receivers often run next to Plausi); only admins add endpoints."""
    if not url or len(url) > MAX_URL_LENGTH:
        return f"A URL of 1 to {MAX_URL_LENGTH} characters is needed."
    if any(ch.isspace() for ch in url):
        return "The URL contains white space."
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        return f"Not a URL: {exc}."
    if parts.scheme not in ("http", "https"):
        return "Only http and https URLs are allowed."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username is not None or parts.password is not None:
        return "Credentials in the URL are not allowed; the signature authenticates Plausi."
    if parts.fragment:
        return "A URL fragment is never sent; remove it."
    del port
    return None


def retry_delay(
    *, attempts: int, schedule: Sequence[float], jitter: float, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait before the next attempt after ``attempts`` failed ones, or None when the schedule is spent
    (the delivery is dead). The n-th retry waits ``schedule[n-1]`` times a random factor in [1 - jitter,
    1 + jitter], so that the deliveries of an outage do not all come back in the same second."""
    if attempts < 1 or attempts > len(schedule):
        return None
    factor = 1.0 + (rng or random).uniform(-jitter, jitter) if jitter > 0 else 1.0
    return max(0.0, float(schedule[attempts - 1]) * factor)


def is_delivered(status_code: int) -> bool:
    """2xx is delivered. Everything else (3xx: redirects are not followed; 4xx; 5xx) and every network error is
    retried on the schedule: a 404 or 401 is usually a receiver being deployed or misconfigured, which is fixed
    later, and the stable ``webhook-id`` makes a retry harmless."""
    return 200 <= status_code < 300
