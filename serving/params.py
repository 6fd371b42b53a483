"""Reading a serving request's parameters (query string or JSON body) into keys and paging. Pure: no Django, so
the DRF views and the lean WSGI path (serving/fast.py) validate alike; ``KeyProblem`` names the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serving.keys import FIELDS, KeyProblem, ServingKey, key_parse

PAGING = ("snapshot", "page", "page_size")
# Which fields each single-key route takes (a pair route takes either pair).
ROUTES: dict[str, tuple[str, ...]] = {
    "query": ("query",),
    "product": ("product",),
    "pair": ("query", "product", "other_product"),
}


@dataclass(frozen=True)
class Paging:
    snapshot: int | None = None
    page: int = 1
    page_size: int | None = None


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise KeyProblem(field, "must be a whole number")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise KeyProblem(field, "must be a whole number")
        value = int(value.strip())
    if not isinstance(value, int):
        raise KeyProblem(field, "must be a whole number")
    if not low <= value <= high:
        raise KeyProblem(field, f"must be between {low} and {high}")
    return value


def paging_read(values: Mapping[str, Any], *, max_page_size: int) -> Paging:
    snapshot = values.get("snapshot")
    page_size = values.get("page_size")
    return Paging(
        snapshot=None if snapshot in (None, "") else _int(snapshot, "snapshot", 1, 2**62),
        page=_int(values.get("page") or 1, "page", 1, 100_000),
        page_size=None if page_size in (None, "") else _int(page_size, "page_size", 1, max_page_size),
    )


def single_read(route: str, values: Mapping[str, Any], *, max_page_size: int) -> tuple[ServingKey, Paging]:
    """A single-key route's query string (one value per name; a repeated name is refused by the caller)."""
    allowed = ROUTES[route]
    unknown = sorted(set(values) - set(allowed) - set(PAGING))
    if unknown:
        raise KeyProblem(unknown[0], f"is not a parameter of this route (parameters: {', '.join(allowed + PAGING)})")
    fields = {name: values[name] for name in allowed if values.get(name) not in (None, "")}
    if route == "pair" and len(fields) != 2:
        raise KeyProblem("product", "a pair is query + product, or product + other_product")
    if route != "pair" and not fields:
        raise KeyProblem(allowed[0], "is required")
    return key_parse(fields), paging_read(values, max_page_size=max_page_size)


def batch_read(body: Any, *, max_keys: int, max_page_size: int) -> tuple[list[ServingKey], Paging]:
    """A batch body: ``{"keys": [{"query": ...}, {"product": ...}, ...], "snapshot"?, "page"?, "page_size"?}``."""
    if not isinstance(body, dict):
        raise KeyProblem("keys", "the body must be a JSON object with a list of keys")
    unknown = sorted(set(body) - {"keys", *PAGING})
    if unknown:
        raise KeyProblem(unknown[0], "is not a field of a batch lookup (fields: keys, snapshot, page, page_size)")
    keys = body.get("keys")
    if not isinstance(keys, list) or not keys:
        raise KeyProblem("keys", "must be a non-empty list of keys")
    if len(keys) > max_keys:
        raise KeyProblem("keys", f"at most {max_keys} keys per request ({len(keys)} given)")
    parsed = []
    for index, fields in enumerate(keys):
        if not isinstance(fields, dict):
            raise KeyProblem(f"keys[{index}]", f"must be an object with {', '.join(FIELDS)}")
        parsed.append(key_parse(fields, prefix=f"keys[{index}]."))
    return parsed, paging_read(body, max_page_size=max_page_size)
