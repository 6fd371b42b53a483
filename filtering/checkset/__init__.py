"""The hand-labelled check set for the rule-based and similarity filters, and its loader.

``checkset.jsonl`` (next to this module) holds one candidate per line in the ingest format (docs/formats.md) plus
two answer fields: ``expected`` ("good": the filters must keep it, "bad": they must drop it) and ``defect`` (why a
bad candidate is bad, or "good"). See README.md in this folder for the label definitions and counts.

Pure Python, standard library only: no Django, so the filters can be scored against it in plain unit tests.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_PATH",
    "DEFECTS",
    "EXPECTED",
    "KINDS",
    "RELATIONS",
    "CheckItem",
    "CheckSetError",
    "load_checkset",
    "normalize_text",
    "parse_checkset",
]

DEFAULT_PATH = Path(__file__).resolve().parent / "checkset.jsonl"

KINDS = ("search_buy", "co_buy", "plain")
EXPECTED = ("good", "bad")
DEFECTS = (
    "good",
    "incomplete",
    "echo_query",
    "echo_title",
    "paraphrase",
    "generic",
    "blocked_pii",
    "junk",
    "length",
)
# The relation catalogue seeded by knowledge/migrations/0002_seed_relations.py.
RELATIONS = (
    "used_for_function",
    "used_for_event",
    "used_for_audience",
    "capable_of",
    "used_to",
    "used_as",
    "is_a",
    "used_on",
    "used_in_location",
    "used_in_body",
    "used_with",
    "used_by",
    "x_interested_in",
    "x_is_a",
    "x_want",
)

_FIELDS = frozenset({"kind", "query", "product", "other_product", "head", "relation", "tail", "expected", "defect"})
_PRODUCT_FIELDS = frozenset({"id", "title", "category"})
_TEXT_LIMITS = {"query": 500, "head": 500, "tail": 500, "id": 100, "title": 1000, "category": 200}
# Same as knowledge.ingest.parsing.normalize_text (not imported: that package pulls in orjson).
_TRAILING_PUNCTUATION = " .!?;,:…"


def normalize_text(text: str) -> str:
    """How ingest tells that two texts are the same: NFKC, case-folded, single spaces, no end punctuation."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(_TRAILING_PUNCTUATION)


class CheckSetError(ValueError):
    """A malformed check-set line; the message names the file, the line and the field."""

    def __init__(self, source: str, line: int, field: str, reason: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason
        super().__init__(f"{source}: line {line}: field {field!r}: {reason}")


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One labelled candidate.

    ``head`` is the head as one text, joined like ``filtering.types.CandidateText.head_context``: "query | title"
    for search_buy, "title | other title" for co_buy and the free head text for plain. Fields a kind does not have
    are empty strings. ``product_id`` / ``other_id`` are the product ids (empty for plain).
    """

    line: int
    kind: str
    query: str
    product_title: str
    product_category: str
    other_title: str
    other_category: str
    head: str
    relation: str
    tail: str
    expected: str
    defect: str
    product_id: str = ""
    other_id: str = ""

    @property
    def is_good(self) -> bool:
        return self.expected == "good"

    @property
    def tail_norm(self) -> str:
        return normalize_text(self.tail)

    @property
    def head_text(self) -> str:
        """The free head text of a plain line (what ``CandidateText.head_text`` holds); empty otherwise."""
        return self.head if self.kind == "plain" else ""

    @property
    def head_key(self) -> str:
        """Equal for lines that share their head: "search_buy:<query>|<id>", "co_buy:<id>|<id>", "plain:<head>"."""
        if self.kind == "search_buy":
            return f"search_buy:{normalize_text(self.query)}|{self.product_id}"
        if self.kind == "co_buy":
            return f"co_buy:{self.product_id}|{self.other_id}"
        return f"plain:{normalize_text(self.head)}"

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(title for title in (self.product_title, self.other_title) if title)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(category for category in (self.product_category, self.other_category) if category)

    def to_ingest_record(self) -> dict[str, Any]:
        """The line in the ingest format (docs/formats.md), without the answer fields."""
        record: dict[str, Any] = {"kind": self.kind}
        if self.kind == "search_buy":
            record["query"] = self.query
        if self.kind in ("search_buy", "co_buy"):
            record["product"] = {"id": self.product_id, "title": self.product_title, "category": self.product_category}
        if self.kind == "co_buy":
            record["other_product"] = {"id": self.other_id, "title": self.other_title, "category": self.other_category}
        if self.kind == "plain":
            record["head"] = self.head
        record["relation"] = self.relation
        record["tail"] = self.tail
        return record


class _LineParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.products: dict[str, tuple[int, str, str]] = {}  # id -> (first line, title, category)

    def fail(self, line: int, field: str, reason: str) -> CheckSetError:
        return CheckSetError(self.source, line, field, reason)

    def text(self, value: object, line: int, field: str, *, limit: int) -> str:
        if not isinstance(value, str):
            raise self.fail(line, field, f"must be a string, not {type(value).__name__}")
        value = value.strip()
        if not value:
            raise self.fail(line, field, "must not be empty")
        if len(value) > limit:
            raise self.fail(line, field, f"is longer than {limit} characters")
        return value

    def choice(self, value: object, line: int, field: str, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(line, field, f"must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def product(self, value: object, line: int, field: str) -> tuple[str, str, str]:
        if not isinstance(value, dict):
            raise self.fail(line, field, "must be an object with id, title and category")
        unknown = sorted(set(value) - _PRODUCT_FIELDS)
        if unknown:
            raise self.fail(line, f"{field}.{unknown[0]}", "is not a known field")
        for key in ("id", "title", "category"):
            if key not in value:
                raise self.fail(line, f"{field}.{key}", "is missing")
        pid = self.text(value["id"], line, f"{field}.id", limit=_TEXT_LIMITS["id"])
        title = self.text(value["title"], line, f"{field}.title", limit=_TEXT_LIMITS["title"])
        category = self.text(value["category"], line, f"{field}.category", limit=_TEXT_LIMITS["category"])
        seen = self.products.setdefault(pid, (line, title, category))
        if seen[1:] != (title, category):
            raise self.fail(line, f"{field}.id", f"{pid!r} was given another title or category on line {seen[0]}")
        return pid, title, category

    def parse(self, raw: str, line: int) -> CheckItem:
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise self.fail(line, "(line)", f"is not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(record, dict):
            raise self.fail(line, "(line)", "must be a JSON object")
        unknown = sorted(set(record) - _FIELDS)
        if unknown:
            raise self.fail(line, unknown[0], "is not a known field")
        for key in ("kind", "relation", "tail", "expected", "defect"):
            if key not in record:
                raise self.fail(line, key, "is missing")

        kind = self.choice(record["kind"], line, "kind", KINDS)
        needed = {
            "search_buy": ("query", "product"),
            "co_buy": ("product", "other_product"),
            "plain": ("head",),
        }[kind]
        for key in ("query", "product", "other_product", "head"):
            if key in needed and key not in record:
                raise self.fail(line, key, f"is required for kind {kind}")
            if key not in needed and key in record:
                raise self.fail(line, key, f"is not allowed for kind {kind}")

        query = head = ""
        product = other = ("", "", "")
        if kind == "search_buy":
            query = self.text(record["query"], line, "query", limit=_TEXT_LIMITS["query"])
            product = self.product(record["product"], line, "product")
            head = f"{query} | {product[1]}"
        elif kind == "co_buy":
            product = self.product(record["product"], line, "product")
            other = self.product(record["other_product"], line, "other_product")
            if other[0] == product[0]:
                raise self.fail(line, "other_product.id", "must differ from product.id")
            head = f"{product[1]} | {other[1]}"
        else:
            head = self.text(record["head"], line, "head", limit=_TEXT_LIMITS["head"])

        relation = self.choice(record["relation"], line, "relation", RELATIONS)
        tail = self.text(record["tail"], line, "tail", limit=_TEXT_LIMITS["tail"])
        if not normalize_text(tail):
            raise self.fail(line, "tail", "has no text once punctuation and spaces are removed (ingest rejects it)")
        expected = self.choice(record["expected"], line, "expected", EXPECTED)
        defect = self.choice(record["defect"], line, "defect", DEFECTS)
        if (expected == "good") != (defect == "good"):
            raise self.fail(line, "defect", f"{defect!r} does not go with expected {expected!r}")

        return CheckItem(
            line=line,
            kind=kind,
            query=query,
            product_title=product[1],
            product_category=product[2],
            other_title=other[1],
            other_category=other[2],
            head=head,
            relation=relation,
            tail=tail,
            expected=expected,
            defect=defect,
            product_id=product[0],
            other_id=other[0],
        )


def parse_checkset(lines: Iterable[str], source: str = "<checkset>") -> list[CheckItem]:
    """Parse check-set lines (line numbers count from 1; blank lines are skipped but counted)."""
    parser = _LineParser(source)
    items: list[CheckItem] = []
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            items.append(parser.parse(raw, number))
    return items


def load_checkset(path: Path | None = None) -> list[CheckItem]:
    """Load and validate a check set (by default the shipped ``checkset.jsonl``).

    Raises ``CheckSetError`` (a ``ValueError``) naming the line and field of the first malformed line.
    """
    path = DEFAULT_PATH if path is None else Path(path)
    with path.open(encoding="utf-8") as handle:
        return parse_checkset(handle, source=path.name)
