"""Parse and validate ingest lines into flat staging rows. Pure Python (no Django): fast and unit-testable.

A line becomes one tuple in the order of ``STAGING_COLUMNS`` or a list of ``LineError``. The format is
documented in docs/formats.md; this module is its executable definition (``readers`` turns files into lines).
Whatever the record, ``LineParser.parse`` never raises. Every message names user data through ``_brief`` (short,
escaped), so a report can always be stored and shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from knowledge.ingest.text import (  # noqa: F401  (normalize_text and spreadsheet_formula: re-exported)
    LineError,
    ReadResult,
    _brief,
    _digest,
    _name,
    _names,
    _text_problem,
    normalize_text,
    spreadsheet_formula,
)

STAGING_COLUMNS: tuple[str, ...] = (
    "line_no",
    "file_no",
    "kind",
    "query_text",
    "query_norm",
    "p1_id",
    "p1_title",
    "p1_cat",
    "p1_attrs",
    "p2_id",
    "p2_title",
    "p2_cat",
    "p2_attrs",
    "pair_key",
    "pair_count",
    "head_text",
    "relation_id",
    "tail",
    "tail_norm",
    "dedup_key",
    "generator",
    "prompt_id",
    "support",
    "labels",
)

KINDS = ("search_buy", "co_buy", "plain")
TOP_LEVEL_FIELDS = frozenset(
    {
        "kind",
        "query",
        "product",
        "other_product",
        "count",
        "head",
        "relation",
        "tail",
        "generator",
        "prompt_id",
        "support",
        "labels",
    }
)
PRODUCT_FIELDS = frozenset({"id", "title", "category", "attributes"})
CSV_COLUMNS = frozenset(
    {
        "kind",
        "query",
        "product_id",
        "product_title",
        "product_category",
        "product_attributes",
        "other_product_id",
        "other_product_title",
        "other_product_category",
        "other_product_attributes",
        "head",
        "count",
        "relation",
        "tail",
        "generator",
        "prompt_id",
        "support",
    }
)
LABEL_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_LINE_BYTES = 1024 * 1024
MAX_COUNT = 2**31 - 1
MAX_SUPPORT = 1_000_000
_INT64 = (-(2**63), 2**64 - 1)  # what orjson (and so a product's attributes) can hold


class LineParser:
    """Turns one decoded line (a mapping) into a staging row, checking every field against docs/formats.md."""

    def __init__(self, *, relation_ids: Mapping[str, int], file_name: str, file_no: int) -> None:
        self.relation_ids = relation_ids
        self.file_name = file_name
        self.file_no = file_no

    # -- helpers -------------------------------------------------------------------------------------------
    def _error(self, errors: list[LineError], line_no: int, field: str, message: str) -> None:
        errors.append(LineError(self.file_name, line_no, field, message))

    def _text(
        self,
        value: Any,
        errors: list[LineError],
        line_no: int,
        field: str,
        *,
        max_length: int,
        required: bool,
    ) -> str:
        if value is None or value == "":
            if required:
                self._error(errors, line_no, field, "is required")
            return ""
        if not isinstance(value, str):
            self._error(errors, line_no, field, f"must be a string, not {_type_name(value)}")
            return ""
        leading = value[:1]
        value = value.strip()
        if required and not value:
            self._error(errors, line_no, field, "must not be blank")
            return ""
        if len(value) > max_length:
            self._error(errors, line_no, field, f"is {len(value)} characters long; the maximum is {max_length}")
            return ""
        problem = _text_problem(value)
        if problem is None and value and leading in ("\t", "\r"):
            problem = spreadsheet_formula(leading)  # stripped here, but a sign that the text was made to hide one
        if problem:
            self._error(errors, line_no, field, problem)
            return ""
        return value

    def _integer(self, value: Any, errors: list[LineError], line_no: int, field: str, *, maximum: int) -> int:
        if value is None:
            return 1
        if isinstance(value, float):
            if value.is_integer() and abs(value) >= 2**63:  # JSON digits past 64 bits: orjson gives a float
                self._error(errors, line_no, field, f"must be between 1 and {maximum}, got {value!r}")
            else:
                self._error(errors, line_no, field, f"must be a whole number, got {value!r}")
            return 1
        if isinstance(value, bool) or not isinstance(value, int):
            self._error(errors, line_no, field, f"must be a whole number, not {_type_name(value)}")
            return 1
        if value < 1 or value > maximum:
            self._error(errors, line_no, field, f"must be between 1 and {maximum}, got {_brief(value)}")
            return 1
        return value

    def _attributes(self, value: Any, errors: list[LineError], line_no: int, field: str) -> str | None:
        """The attributes as JSON text that PostgreSQL's jsonb accepts, or None (absent, empty or refused)."""
        if not isinstance(value, dict):
            self._error(errors, line_no, field, "must be an object of plain values (text, numbers)")
            return None
        for key, item in value.items():
            problem = None
            if not isinstance(key, str):
                problem = f"has a key that is not text: {_brief(key)}"
            elif key_problem := _text_problem(key):
                problem = f"key {_brief(key)} {key_problem}"
            elif isinstance(item, str):
                if item_problem := _text_problem(item):
                    problem = f"value of {_brief(key)} {item_problem}"
            elif isinstance(item, bool) or item is None:
                pass
            elif isinstance(item, int):
                if not _INT64[0] <= item <= _INT64[1]:
                    problem = f"value of {_brief(key)} is a number too large to store: {_brief(item)}"
            elif isinstance(item, float):
                if not math.isfinite(item):
                    problem = f"value of {_brief(key)} must be a finite number, got {item!r}"
            else:
                problem = "must be an object of plain values (text, numbers)"
            if problem:
                self._error(errors, line_no, field, problem)
                return None
        if not value:
            return None
        try:
            attributes_json = orjson.dumps(value).decode()
        except orjson.JSONEncodeError as exc:  # not expected after the checks above; never a crash
            self._error(errors, line_no, field, f"cannot be stored as JSON: {exc}")
            return None
        if len(attributes_json) > 20_000:
            self._error(errors, line_no, field, "is larger than 20,000 characters")
            return None
        return attributes_json

    def _product(
        self, value: Any, errors: list[LineError], line_no: int, field: str
    ) -> tuple[str, str, str, str | None]:
        if not isinstance(value, dict):
            self._error(errors, line_no, field, f"must be an object with an 'id', not {_type_name(value)}")
            return ("", "", "", None)
        unknown = value.keys() - PRODUCT_FIELDS
        if unknown:
            self._error(errors, line_no, field, f"has unknown fields: {_names(unknown)}")
        product_id = self._text(value.get("id"), errors, line_no, f"{field}.id", max_length=100, required=True)
        title = self._text(value.get("title"), errors, line_no, f"{field}.title", max_length=1000, required=False)
        category = self._text(
            value.get("category"), errors, line_no, f"{field}.category", max_length=200, required=False
        )
        attributes = value.get("attributes")
        attributes_json: str | None = None
        if attributes is not None:
            attributes_json = self._attributes(attributes, errors, line_no, f"{field}.attributes")
        return (product_id, title, category, attributes_json)

    # -- the line ------------------------------------------------------------------------------------------
    def parse(self, record: Any, line_no: int) -> tuple[Any, ...] | list[LineError]:
        """A staging row for a valid record, else every problem found in it."""
        errors: list[LineError] = []
        if not isinstance(record, dict):
            return [LineError(self.file_name, line_no, "(line)", f"must be a JSON object, not {_type_name(record)}")]
        unknown = record.keys() - TOP_LEVEL_FIELDS
        if unknown:
            self._error(errors, line_no, "(line)", f"unknown fields: {_names(unknown)}")

        kind = record.get("kind")
        if kind is None:
            kind = "search_buy" if "query" in record else "co_buy" if "other_product" in record else "plain"
        elif kind not in KINDS:
            self._error(errors, line_no, "kind", f"must be one of {', '.join(KINDS)}, got {_brief(kind)}")
            kind = "plain"

        relation_slug = record.get("relation")
        relation_id = self.relation_ids.get(relation_slug) if isinstance(relation_slug, str) else None
        if relation_id is None:
            if relation_slug is None or relation_slug == "":
                self._error(errors, line_no, "relation", "is required")
            else:
                self._error(errors, line_no, "relation", f"unknown relation {_brief(relation_slug)}")
        tail = self._text(record.get("tail"), errors, line_no, "tail", max_length=500, required=True)
        tail_norm = normalize_text(tail) if tail else ""
        if tail and not tail_norm:
            self._error(errors, line_no, "tail", "has no text once punctuation and spaces are removed")
        generator = self._text(record.get("generator"), errors, line_no, "generator", max_length=200, required=False)
        prompt_id = self._text(record.get("prompt_id"), errors, line_no, "prompt_id", max_length=200, required=False)
        support = self._integer(record.get("support"), errors, line_no, "support", maximum=MAX_SUPPORT)

        labels = record.get("labels")
        labels_json: str | None = None
        if labels is not None:
            if not isinstance(labels, dict):
                self._error(errors, line_no, "labels", "must be an object of question: true/false")
            else:
                labels_valid = True
                for key, answer in labels.items():
                    if not isinstance(key, str) or not LABEL_KEY.fullmatch(key):
                        self._error(errors, line_no, "labels", f"{_brief(key)} is not a question slug")
                        labels_valid = False
                    elif not isinstance(answer, bool):
                        self._error(errors, line_no, f"labels.{key}", "must be true or false")
                        labels_valid = False
                if labels and labels_valid:
                    labels_json = orjson.dumps(labels).decode()

        query_text = query_norm = None
        p1: tuple[str, str, str, str | None] = ("", "", "", None)
        p2: tuple[str, str, str, str | None] = ("", "", "", None)
        head_text = ""
        pair_key = None
        pair_count = None
        if kind == "plain":
            for forbidden in ("query", "product", "other_product", "count"):
                if record.get(forbidden) is not None:
                    self._error(errors, line_no, forbidden, "is not allowed for kind 'plain'")
            head_text = self._text(record.get("head"), errors, line_no, "head", max_length=500, required=True)
            head_identity = "plain\x1f" + normalize_text(head_text)
        else:
            if record.get("head") is not None:
                self._error(errors, line_no, "head", f"is not allowed for kind {kind!r}")
            pair_count = self._integer(record.get("count"), errors, line_no, "count", maximum=MAX_COUNT)
            p1 = self._product(record.get("product"), errors, line_no, "product")
            if kind == "search_buy":
                if record.get("other_product") is not None:
                    self._error(errors, line_no, "other_product", "is not allowed for kind 'search_buy'")
                query_text = self._text(record.get("query"), errors, line_no, "query", max_length=500, required=True)
                query_norm = normalize_text(query_text)
                if query_text and not query_norm:
                    self._error(errors, line_no, "query", "has no text once punctuation and spaces are removed")
                head_identity = f"search_buy\x1f{query_norm}\x1f{p1[0]}"
            else:
                if record.get("query") is not None:
                    self._error(errors, line_no, "query", "is not allowed for kind 'co_buy'")
                p2 = self._product(record.get("other_product"), errors, line_no, "other_product")
                if p1[0] and p1[0] == p2[0]:
                    self._error(errors, line_no, "other_product.id", "must differ from product.id")
                head_identity = f"co_buy\x1f{p1[0]}\x1f{p2[0]}"
            pair_key = _digest(head_identity)

        if errors:
            return errors
        return (
            line_no,
            self.file_no,
            kind,
            query_text,
            query_norm,
            p1[0] or None,
            p1[1],
            p1[2],
            p1[3],
            p2[0] or None,
            p2[1],
            p2[2],
            p2[3],
            pair_key,
            pair_count,
            head_text,
            relation_id,
            tail,
            tail_norm,
            _digest(head_identity, str(relation_slug), tail_norm),
            generator,
            prompt_id,
            support,
            labels_json,
        )


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
    }.get(type(value), "null" if value is None else type(value).__name__)
