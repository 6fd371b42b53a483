"""The OpenAPI schema class (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``): drf-spectacular's, plus the error
responses that the API gives everywhere, so that the schema names every status code an operation can answer with.

Every operation can answer 401 (missing or wrong credentials) and 403 (a role that does not allow it, or a
session-authenticated write without its CSRF token); one whose path names an object, 404; one that validates
input (a request body, or query parameters given as a serializer), 400; one with a request body, 415 for a
media type it does not read, and 413 for a body larger than its path allows (core/middleware.py); a throttled
one, 429; and every one, 503 while the database cannot answer (core/unavailable.py). Codes that only some
operations give (409 from a ``Conflict``) are declared on the view itself with ``extend_schema``. Error bodies
come from ``core.api.errors``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()


def error(description: str) -> OpenApiResponse:
    """A ``{"detail": "..."}`` error response, for ``extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorOutputSerializer, description=description)


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "The input is invalid: either a message under `detail`, or lists of messages by field name "
        "(`non_field_errors` for the input as a whole)."
    ),
)


class AutoSchema(SpectacularAutoSchema):
    def _error_responses(self) -> dict[str, OpenApiResponse]:
        errors = {
            "401": error("No credentials, or credentials that are not valid."),
            "403": error("Your role does not allow this, or a session request came without its CSRF token."),
        }
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        validated_query = any(not isinstance(p, OpenApiParameter) for p in self.get_override_parameters())
        if has_body or validated_query:
            errors["400"] = VALIDATION_ERROR
        if has_body:
            errors["413"] = error("The request body is larger than this path allows (`limit_bytes`).")
            errors["415"] = error("The body's media type is not one that this operation reads.")
        if "{" in self.path:
            errors["404"] = error("No such object.")
        errors["503"] = error(
            "The database is unavailable or too slow right now (the failing transaction was rolled back): try "
            "again after `Retry-After` seconds (core/unavailable.py)."
        )
        if getattr(self.view, "throttle_classes", None):
            errors["429"] = error("Too many requests: wait the number of seconds in `Retry-After`.")
        return errors

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in self._error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return dict(sorted(responses.items()))

    def _get_paginator(self) -> Any:
        # Only GET lists are paginated here; a POST that answers with a list (new review batches) returns it whole.
        return super()._get_paginator() if self.method == "GET" else None


Endpoint = tuple[str, str, str, Any]  # path, path regex, method, view callback


def drop_slashless_aliases(endpoints: list[Endpoint], **kwargs: Any) -> list[Endpoint]:
    """drf-spectacular's ``PREPROCESSING_HOOKS``: leave out each slash-less alias whose canonical twin (the same
    path with its trailing slash, the same method and the same view) is listed, so that the schema names every
    API path once, in its canonical form (``core.api.urls``)."""
    listed = {(path, method, callback) for path, _regex, method, callback in endpoints}
    return [
        endpoint
        for endpoint in endpoints
        if endpoint[0].endswith("/") or (f"{endpoint[0]}/", endpoint[2], endpoint[3]) not in listed
    ]
