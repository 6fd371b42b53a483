"""The API's pagination (``REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]``)."""

from __future__ import annotations

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pagination with a largest page. DRF sets none: ``?limit=100000000`` read a whole table
    into one response, and a limit past PostgreSQL's bigint failed the query ("bigint out of range", a 500). A
    larger limit is cut to ``max_limit``. The offset needs no bound: DRF answers an empty page for an offset past
    the row count without running the query."""

    max_limit = 1000
