"""The wire format without a database: Standard Webhooks signatures checked by the reference library, the URL
rule, and the retry schedule with its jitter."""

from __future__ import annotations

import base64
import random
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import protocol


def test_our_signature_verifies_with_the_reference_library_and_a_wrong_secret_or_body_does_not() -> None:
    secret = protocol.secret_generate()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == protocol.SECRET_BYTES
    body = protocol.body_bytes({"type": "batch.approved", "data": {"batch": 7, "note": "ünïcode"}})
    headers = protocol.signed_headers(secret=secret, message_id="msg_1", timestamp=int(time.time()), body=body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"] == {"batch": 7, "note": "ünïcode"}
    with pytest.raises(WebhookVerificationError):
        Webhook(protocol.secret_generate()).verify(body, headers)  # another endpoint's secret
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"7", b"8"), headers)  # a changed body
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_2"})  # a changed id
    stale = protocol.signed_headers(secret=secret, message_id="msg_1", timestamp=int(time.time()) - 3600, body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)  # the library refuses old timestamps (replayed captures)


def test_the_body_is_the_same_bytes_on_every_attempt() -> None:
    message = {"type": "t", "timestamp": "2026-01-01T00:00:00Z", "data": {"b": 1, "a": [1, 2]}}
    assert protocol.body_bytes(message) == protocol.body_bytes(dict(reversed(list(message.items()))))


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://example.com/hooks", False),
        ("http://127.0.0.1:8080/hooks?x=1", False),
        ("http://receiver:9000/", False),  # a service name without a dot
        ("ftp://example.com/", True),
        ("javascript:alert(1)", True),
        ("https://user:pw@example.com/", True),
        ("https:///nohost", True),
        ("https://example.com/#frag", True),
        ("https://exa mple.com/", True),
        ("http://example.com:99999/", True),
        ("", True),
    ],
)
def test_endpoint_urls_are_http_or_https_with_a_host_and_no_credentials(url: str, refused: bool) -> None:
    assert (protocol.url_problem(url) is not None) is refused


def test_retries_follow_the_schedule_within_the_jitter_then_stop() -> None:
    schedule = [5, 30, 120]
    rng = random.Random(1)
    for attempts, base in enumerate(schedule, start=1):
        delays = [protocol.retry_delay(attempts=attempts, schedule=schedule, jitter=0.2, rng=rng) for _ in range(200)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays if d is not None)
        assert len({round(d, 6) for d in delays if d is not None}) > 100  # spread, not one second for all
    assert protocol.retry_delay(attempts=3, schedule=schedule, jitter=0) == 120
    assert protocol.retry_delay(attempts=4, schedule=schedule, jitter=0.2) is None  # spent: dead
    assert [protocol.is_delivered(code) for code in (200, 204, 299, 301, 404, 429, 500)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
