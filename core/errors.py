"""The one family of domain errors that services raise; the API maps them to clear 4xx responses."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A request that the domain refuses, with a message meant for the person who made it."""

    status_code = 400

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotAllowed(ApplicationError):
    status_code = 403


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    status_code = 409


class Gone(ApplicationError):
    status_code = 410


class TooLarge(ApplicationError):
    status_code = 413
