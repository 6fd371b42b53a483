"""The client's exceptions: one family (``PlausiError``), each carrying what the server said."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plausi_client.types import IngestProblem, Run


class PlausiError(Exception):
    """Anything this client raises on purpose."""


class ApiError(PlausiError):
    """The API answered with an error status. ``detail`` is its message (``{"detail": ...}``); ``fields`` holds
    the validation errors by field name (``{"format": ["..."]}``, ``non_field_errors`` for the input as a whole);
    ``body`` is the whole decoded body (or the text, when it was not JSON)."""

    def __init__(self, *, method: str, url: str, status: int, body: Any, retry_after: float | None = None) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.detail = str(body.get("detail", "")) if isinstance(body, dict) else str(body or "")[:500]
        self.fields: dict[str, Any] = (
            {key: value for key, value in body.items() if key != "detail"} if isinstance(body, dict) else {}
        )
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [f"{self.method} {self.url} answered {self.status}"]
        if self.detail:
            parts.append(self.detail)
        if self.fields:
            parts.append("; ".join(f"{name}: {messages}" for name, messages in self.fields.items()))
        return ": ".join(parts)


class AuthenticationError(ApiError):
    """401 (no or wrong credentials, an expired or revoked token), or a refused password exchange."""


class PermissionDenied(ApiError):
    """403: your role does not allow this."""


class NotFound(ApiError):
    """404: no such object (or path)."""


class Conflict(ApiError):
    """409: the object is not in a state that allows this (a decided batch, a training already in flight)."""


class Throttled(ApiError):
    """429: too many requests; ``retry_after`` says how many seconds to wait."""


class RunFailed(PlausiError):
    """A run that was waited for ended ``failed``. ``run`` is its final record; for an ingest, ``problems`` lists
    the first problems found (file, line, field, message)."""

    def __init__(self, run: Run, problems: list[IngestProblem] | None = None) -> None:
        self.run = run
        self.problems = problems or []
        text = f"{run.kind} run {run.id} failed: {run.message or run.error or 'no message'}"
        if self.problems:
            first = self.problems[0]
            text += f" (first problem: {first.file} line {first.line}, {first.field or 'line'}: {first.message})"
        super().__init__(text)


class RunTimeout(PlausiError):
    """A run did not finish within the time waited for it; ``run`` is its last record (it goes on running)."""

    def __init__(self, run: Run, timeout: float) -> None:
        self.run = run
        super().__init__(f"{run.kind} run {run.id} is still {run.status} after {timeout:g} s ({run.phase})")


class ChecksumMismatch(PlausiError):
    """A downloaded export's SHA-256 differs from the one the server announced (the partial file is removed)."""
