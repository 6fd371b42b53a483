"""Serving keys: what a consumer asks about, and the normalised string the feature store is keyed by. Pure: no
Django.

    {"query": text}                          -> "q:<normalised query>"
    {"product": id}                          -> "p:<catalogue id>"
    {"query": text, "product": id}           -> "qp:<normalised query>\\t<catalogue id>"   (search -> buy)
    {"product": id, "other_product": id}     -> "pp:<smaller id>\\t<larger id>"              (co-buy, either order)

Queries are normalised as ingest normalises them (``SearchQuery.normalized_text``), so "Winter Boots " and
"winter boots" are one key; catalogue ids are taken as given (stripped). A TAB cannot occur in either part (the
normaliser collapses whitespace; ids are refused with one), so the separator is unambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.ingest.text import normalize_text

SEPARATOR = "\t"
MAX_TEXT = 500
MAX_ID = 100
FIELDS = ("query", "product", "other_product")


class KeyProblem(ValueError):
    """A key that cannot be served; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ServingKey:
    type: str  # query | product | query_product | product_product
    query: str = ""
    product: str = ""
    other_product: str = ""

    @property
    def key(self) -> str:
        if self.type == "query":
            return f"q:{self.query}"
        if self.type == "product":
            return f"p:{self.product}"
        if self.type == "query_product":
            return f"qp:{self.query}{SEPARATOR}{self.product}"
        return f"pp:{self.product}{SEPARATOR}{self.other_product}"

    def describe(self) -> dict[str, str]:
        """The key as the response echoes it (normalised)."""
        out = {"type": self.type}
        for name in FIELDS:
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


def key_from_string(key: str) -> ServingKey:
    """The inverse of ``ServingKey.key`` (for keys the store wrote)."""
    prefix, _, rest = key.partition(":")
    if prefix == "q":
        return ServingKey("query", query=rest)
    if prefix == "p":
        return ServingKey("product", product=rest)
    first, _, second = rest.partition(SEPARATOR)
    if prefix == "qp":
        return ServingKey("query_product", query=first, product=second)
    return ServingKey("product_product", product=first, other_product=second)


def _text(fields: Mapping[str, Any], name: str, prefix: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise KeyProblem(prefix + name, "must be text")
    if len(value) > MAX_TEXT:
        raise KeyProblem(prefix + name, f"is longer than {MAX_TEXT} characters")
    normalised = normalize_text(value)
    if not normalised:
        raise KeyProblem(prefix + name, "must not be empty")
    return normalised


def _id(fields: Mapping[str, Any], name: str, prefix: str) -> str:
    value = fields.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise KeyProblem(prefix + name, "must be a catalogue id (text)")
    value = value.strip()
    if not value:
        raise KeyProblem(prefix + name, "must not be empty")
    if len(value) > MAX_ID:
        raise KeyProblem(prefix + name, f"is longer than {MAX_ID} characters")
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise KeyProblem(prefix + name, "must not contain control characters")
    return value


def key_parse(fields: Mapping[str, Any], *, prefix: str = "") -> ServingKey:
    """The key named by a request's fields (see the module docstring); ``KeyProblem`` names the bad field (with
    ``prefix``, e.g. ``keys[3].``). Unknown fields are refused, so a misspelt one is not silently ignored."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise KeyProblem(prefix + unknown[0], f"is not a key field (fields: {', '.join(FIELDS)})")
    has = {name for name in FIELDS if fields.get(name) is not None}
    if has == {"query"}:
        return ServingKey("query", query=_text(fields, "query", prefix))
    if has == {"product"}:
        return ServingKey("product", product=_id(fields, "product", prefix))
    if has == {"query", "product"}:
        return ServingKey("query_product", query=_text(fields, "query", prefix), product=_id(fields, "product", prefix))
    if has == {"product", "other_product"}:
        first, second = sorted((_id(fields, "product", prefix), _id(fields, "other_product", prefix)))
        return ServingKey("product_product", product=first, other_product=second)
    if "other_product" in has and "product" not in has:
        raise KeyProblem(prefix + "product", "is required with other_product")
    if not has:
        raise KeyProblem(prefix + "query", "a key needs query, product, query + product, or product + other_product")
    raise KeyProblem(prefix + "other_product", "a key is query + product or product + other_product, not all three")
