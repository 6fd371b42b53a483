"""Parse and validate ingest lines into flat staging rows. Pure Python (no Django): fast and unit-testable.

A line becomes one tuple in the order of ``STAGING_COLUMNS`` or a list of ``LineError``. The format is
documented in docs/formats.md; this module is its executable definition.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

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
_TRAILING_PUNCTUATION = " .!?;,:…"
_CSV_TRUE = frozenset({"yes", "true", "1", "y"})
_CSV_FALSE = frozenset({"no", "false", "0", "n"})


@dataclass(frozen=True, slots=True)
class LineError:
    """One problem with one line: where it is and what is wrong, in words a data owner understands."""

    file: str
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class FileTooLarge(Exception):
    """The decompressed content passed the configured cap (a gzip bomb or a wrong file)."""


def normalize_text(text: str) -> str:
    """The form used to decide that two texts are the same: NFKC, case-folded, single spaces, no end punctuation."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).rstrip(_TRAILING_PUNCTUATION)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def detect_format(name: str) -> str | None:
    """``jsonl`` or ``csv`` from a file name (``.gz`` allowed after it), or None when the name does not say."""
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return None


class _CappedReader(io.RawIOBase):
    """Counts decompressed bytes and refuses to read past a cap."""

    def __init__(self, inner: IO[bytes], cap: int) -> None:
        self._inner = inner
        self._cap = cap
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        self.count += len(data)
        if self.count > self._cap:
            raise FileTooLarge(f"decompressed content exceeds {self._cap} bytes")
        buffer[: len(data)] = data
        return len(data)


def open_content(raw: IO[bytes], *, max_bytes: int) -> IO[bytes]:
    """A buffered byte stream of the file's content, transparently gunzipped when it starts with gzip magic."""
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    inner: IO[bytes] = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if head == b"\x1f\x8b" else raw
    return io.BufferedReader(_CappedReader(inner, max_bytes), buffer_size=1024 * 1024)


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
        value = value.strip()
        if required and not value:
            self._error(errors, line_no, field, "must not be blank")
            return ""
        if len(value) > max_length:
            self._error(errors, line_no, field, f"is {len(value)} characters long; the maximum is {max_length}")
            return ""
        if "\x00" in value:
            self._error(errors, line_no, field, "contains a NUL character")
            return ""
        if not value.isprintable() and any(unicodedata.category(ch) == "Cs" for ch in value if not ch.isprintable()):
            self._error(errors, line_no, field, "is not valid UTF-8")
            return ""
        return value

    def _integer(self, value: Any, errors: list[LineError], line_no: int, field: str, *, maximum: int) -> int:
        if value is None:
            return 1
        if isinstance(value, bool) or not isinstance(value, int):
            self._error(errors, line_no, field, f"must be a whole number, not {_type_name(value)}")
            return 1
        if value < 1 or value > maximum:
            self._error(errors, line_no, field, f"must be between 1 and {maximum}, got {value}")
            return 1
        return value

    def _product(
        self, value: Any, errors: list[LineError], line_no: int, field: str
    ) -> tuple[str, str, str, str | None]:
        if not isinstance(value, dict):
            self._error(errors, line_no, field, f"must be an object with an 'id', not {_type_name(value)}")
            return ("", "", "", None)
        unknown = value.keys() - PRODUCT_FIELDS
        if unknown:
            self._error(errors, line_no, field, f"has unknown fields: {', '.join(sorted(map(str, unknown)))}")
        product_id = self._text(value.get("id"), errors, line_no, f"{field}.id", max_length=100, required=True)
        title = self._text(value.get("title"), errors, line_no, f"{field}.title", max_length=1000, required=False)
        category = self._text(
            value.get("category"), errors, line_no, f"{field}.category", max_length=200, required=False
        )
        attributes = value.get("attributes")
        attributes_json: str | None = None
        if attributes is not None:
            if not isinstance(attributes, dict) or not all(
                isinstance(item, str | int | float | bool) or item is None for item in attributes.values()
            ):
                self._error(
                    errors,
                    line_no,
                    f"{field}.attributes",
                    "must be an object of plain values (text, numbers)",
                )
            elif attributes:
                attributes_json = orjson.dumps(attributes).decode()
                if len(attributes_json) > 20_000:
                    self._error(errors, line_no, f"{field}.attributes", "is larger than 20,000 characters")
        return (product_id, title, category, attributes_json)

    # -- the line ------------------------------------------------------------------------------------------
    def parse(self, record: Any, line_no: int) -> tuple[Any, ...] | list[LineError]:
        """A staging row for a valid record, else every problem found in it."""
        errors: list[LineError] = []
        if not isinstance(record, dict):
            return [LineError(self.file_name, line_no, "(line)", f"must be a JSON object, not {_type_name(record)}")]
        unknown = record.keys() - TOP_LEVEL_FIELDS
        if unknown:
            self._error(errors, line_no, "(line)", f"unknown fields: {', '.join(sorted(map(str, unknown)))}")

        kind = record.get("kind")
        if kind is None:
            kind = "search_buy" if "query" in record else "co_buy" if "other_product" in record else "plain"
        elif kind not in KINDS:
            self._error(errors, line_no, "kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
            kind = "plain"

        relation_slug = record.get("relation")
        relation_id = self.relation_ids.get(relation_slug) if isinstance(relation_slug, str) else None
        if relation_id is None:
            if relation_slug is None or relation_slug == "":
                self._error(errors, line_no, "relation", "is required")
            else:
                self._error(errors, line_no, "relation", f"unknown relation {relation_slug!r}")
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
                for key, answer in labels.items():
                    if not isinstance(key, str) or not LABEL_KEY.fullmatch(key):
                        self._error(errors, line_no, "labels", f"{key!r} is not a question slug")
                    elif not isinstance(answer, bool):
                        self._error(errors, line_no, f"labels.{key}", "must be true or false")
                if labels:
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


def iter_jsonl(
    content: IO[bytes], parser: LineParser
) -> Iterator[tuple[int, tuple[Any, ...] | list[LineError], bytes]]:
    """(line number, staging row or errors, raw line) for every non-blank line."""
    loads = orjson.loads
    parse = parser.parse
    for line_no, raw in enumerate(content, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield (
                line_no,
                [LineError(parser.file_name, line_no, "(line)", f"is longer than {MAX_LINE_BYTES} bytes")],
                raw[:200],
            )
            continue
        stripped = raw.strip()
        if not stripped:
            continue
        try:
            record = loads(stripped)
        except orjson.JSONDecodeError as exc:
            reason = str(exc)
            if "utf-8" in reason.lower() or "surrogate" in reason.lower():
                reason = "is not valid UTF-8"
            else:
                reason = f"is not valid JSON: {reason}"
            yield line_no, [LineError(parser.file_name, line_no, "(line)", reason)], raw
            continue
        yield line_no, parse(record, line_no), raw


def _csv_value(row: Mapping[str, str], column: str) -> str | None:
    value = row.get(column)
    return value if value else None


def _csv_int(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return value  # reported by the parser as "must be a whole number"


def _csv_product(row: Mapping[str, str], prefix: str) -> dict[str, Any] | None:
    product_id = _csv_value(row, f"{prefix}_id")
    title = _csv_value(row, f"{prefix}_title")
    category = _csv_value(row, f"{prefix}_category")
    attributes_text = _csv_value(row, f"{prefix}_attributes")
    if product_id is None and title is None and category is None and attributes_text is None:
        return None
    product: dict[str, Any] = {"id": product_id, "title": title, "category": category}
    if attributes_text is not None:
        try:
            product["attributes"] = orjson.loads(attributes_text)
        except orjson.JSONDecodeError:
            product["attributes"] = attributes_text  # reported as "must be an object"
    return product


def iter_csv(content: IO[bytes], parser: LineParser) -> Iterator[tuple[int, tuple[Any, ...] | list[LineError], bytes]]:
    """(line number, staging row or errors, raw row) for every data row; line numbers count the header as 1."""
    text = io.TextIOWrapper(content, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(text, strict=True)
    file_name = parser.file_name
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, [LineError(file_name, 1, "(header)", f"is not valid CSV: {exc}")], b""
        return
    header = [column.strip().lstrip("\ufeff") for column in header]
    label_columns = {column: column[len("label_") :] for column in header if column.startswith("label_")}
    unknown = [column for column in header if column not in CSV_COLUMNS and column not in label_columns]
    missing = [column for column in ("relation", "tail") if column not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = []
        if unknown:
            problems.append(f"unknown columns: {', '.join(unknown)}")
        if missing:
            problems.append(f"missing columns: {', '.join(missing)}")
        if len(set(header)) != len(header):
            problems.append("a column name appears twice")
        yield 1, [LineError(file_name, 1, "(header)", "; ".join(problems))], b""
        return
    width = len(header)
    previous_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (
                reader.line_num,
                [LineError(file_name, reader.line_num, "(line)", f"is not valid CSV: {exc}")],
                b"",
            )
            return
        line_no = previous_line + 1
        previous_line = reader.line_num
        raw = ",".join(cells).encode("utf-8", "surrogateescape")
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != width:
            yield (
                line_no,
                [LineError(file_name, line_no, "(line)", f"has {len(cells)} cells; the header has {width}")],
                raw,
            )
            continue
        row = dict(zip(header, cells, strict=True))
        record: dict[str, Any] = {}
        for column in ("kind", "query", "head", "relation", "tail", "generator", "prompt_id"):
            value = _csv_value(row, column)
            if value is not None:
                record[column] = value
        for column in ("count", "support"):
            number = _csv_int(_csv_value(row, column))
            if number is not None:
                record[column] = number
        for prefix, key in (("product", "product"), ("other_product", "other_product")):
            product = _csv_product(row, prefix)
            if product is not None:
                record[key] = product
        labels: dict[str, Any] = {}
        label_errors: list[LineError] = []
        for column, question in label_columns.items():
            cell = row[column].strip().lower()
            if not cell:
                continue
            if cell in _CSV_TRUE:
                labels[question] = True
            elif cell in _CSV_FALSE:
                labels[question] = False
            else:
                label_errors.append(LineError(file_name, line_no, column, f"must be yes or no, got {row[column]!r}"))
        if labels:
            record["labels"] = labels
        result = parser.parse(record, line_no)
        if label_errors:
            result = label_errors + (result if isinstance(result, list) else [])
        yield line_no, result, raw
