"""One HTTP attempt (httpx, no Django): a POST with a short timeout, redirects not followed, the response's
first bytes kept for the delivery log. Never raises: every failure is an ``Attempt`` with its error."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

SNIPPET_BYTES = 500


@dataclass(frozen=True)
class Attempt:
    status_code: int | None  # None: no response (refused, timed out, TLS error ...)
    error: str
    snippet: str
    delivered: bool


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Attempt:
    from webhooks.protocol import is_delivered

    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            head = b""
            for chunk in response.iter_bytes():
                head += chunk
                if len(head) >= SNIPPET_BYTES:
                    break
            snippet = head[:SNIPPET_BYTES].decode("utf-8", errors="replace")
            ok = is_delivered(response.status_code)
            error = "" if ok else f"HTTP {response.status_code}"
            return Attempt(status_code=response.status_code, error=error, snippet=snippet, delivered=ok)
    except httpx.HTTPError as exc:
        return Attempt(status_code=None, error=f"{type(exc).__name__}: {exc}"[:500], snippet="", delivered=False)
