"""Parse and validate ingest lines into flat staging rows. Pure Python (no Django): fast and unit-testable.

A line becomes one tuple in the order of ``STAGING_COLUMNS`` or a list of ``LineError``. The format is
documented in docs/formats.md; this module is its executable definition. Whatever the bytes, the readers never
raise: a problem that stops a file from being read to its end (a damaged gzip stream, the size cap, a CSV quote
that never closes, no data at all) is a file-level ``LineError`` yielded with ``None`` as its raw line. Every
message names user data through ``_brief`` (short, escaped), so a report can always be stored and shown.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import re
import reprlib
import unicodedata
import zlib
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
_CSV_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_SIGNED_NUMBER = re.compile(r"[+-][.,]?[0-9]")
_UTF8_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1024 * 1024
_MAX_NAMES_SHOWN = 10
_INT64 = (-(2**63), 2**64 - 1)  # what orjson (and so a product's attributes) can hold


@dataclass(frozen=True, slots=True)
class LineError:
    """One problem with one line: where it is and what is wrong, in words a data owner understands."""

    file: str
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


# What the readers yield per line: (line number, staging row or errors, raw bytes; None for a file-level problem).
ReadResult = tuple[int, tuple[Any, ...] | list[LineError], bytes | None]


class FileTooLarge(Exception):
    """The decompressed content passed the configured cap (a gzip bomb or a wrong file)."""


class _RecordTooLong(Exception):
    """A CSV record grew past the line cap before it ended (an endless line or a quote that never closes)."""


# What reading a damaged or oversized stream raises; the readers turn each into a file-level error.
_STREAM_ERRORS = (FileTooLarge, gzip.BadGzipFile, EOFError, zlib.error)


class _BriefRepr(reprlib.Repr):
    """``repr`` cut short: bounded length and depth, escaped NULs and surrogates, and no ``ValueError`` for
    integers too long to print."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = 60
        self.maxother = 60
        self.maxlong = 40
        self.maxlevel = 2

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<a number of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_BRIEF = _BriefRepr()


def _brief(value: Any) -> str:
    """A value from the file, shown in a message: quoted, escaped and at most about 60 characters."""
    return _BRIEF.repr(value)


def _name(value: Any) -> str:
    """A field or column name from the file: as it is when short and printable, else ``_brief``."""
    if isinstance(value, str) and value.isprintable() and 0 < len(value) <= 60:
        return value
    return _brief(value)


def _names(values: Any) -> str:
    shown = sorted(_name(value) for value in values)
    more = f" and {len(shown) - _MAX_NAMES_SHOWN} more" if len(shown) > _MAX_NAMES_SHOWN else ""
    return ", ".join(shown[:_MAX_NAMES_SHOWN]) + more


def spreadsheet_formula(text: str) -> str | None:
    """Why a spreadsheet would run ``text`` as a formula (CSV injection), or None when it would not.

    A formula starts with ``=`` or ``@``, or with ``+`` or ``-`` followed by something other than a number
    ("-20°C rated boots" and "+2 sizes" are text; "-cmd|..." and "+HYPERLINK(...)" are formulas; a lone sign is
    text). A leading TAB or carriage return counts too, as OWASP advises: some spreadsheets skip it.
    """
    first = text[:1]
    if first in ("=", "@"):
        return f"starts with {first!r}, which a spreadsheet would run as a formula (CSV injection)"
    if first in ("\t", "\r"):
        return "starts with a TAB or carriage return, which can hide a spreadsheet formula (CSV injection)"
    if first in ("+", "-") and len(text) > 1 and not _SIGNED_NUMBER.match(text):
        return (
            f"starts with {first!r} followed by something other than a number, which a spreadsheet would run "
            "as a formula (CSV injection)"
        )
    return None


def _text_problem(value: str) -> str | None:
    """Why text cannot be stored (PostgreSQL refuses NUL and lone surrogates) or shown safely, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isprintable() and any(unicodedata.category(ch) == "Cs" for ch in value if not ch.isprintable()):
        return "is not valid UTF-8"
    return spreadsheet_formula(value)


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


def _stream_error(exc: BaseException) -> str:
    if isinstance(exc, FileTooLarge):
        return f"{exc}; the rest of the file was not read"
    return f"is not a valid gzip file: {exc}"


def _physical_lines(content: IO[bytes], max_line_bytes: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, within the cap) per line; a line past the cap is skipped, never held in memory."""
    readline = content.readline
    line_no = 0
    while raw := readline(max_line_bytes + 1):
        line_no += 1
        if len(raw) <= max_line_bytes:
            yield line_no, raw, True
            continue
        if not raw.endswith(b"\n"):
            while (rest := readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                pass
        yield line_no, raw[:200], False


def iter_jsonl(content: IO[bytes], parser: LineParser, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[ReadResult]:
    """(line number, staging row or errors, raw line) for every non-blank line; raw is None for a file-level
    problem. A UTF-8 byte order mark at the start of the file is allowed."""
    loads = orjson.loads
    parse = parser.parse
    file_name = parser.file_name
    line_no = 0
    data_lines = 0
    try:
        for line_no, raw, within_cap in _physical_lines(content, max_line_bytes):
            if not within_cap:
                data_lines += 1
                message = f"is longer than {max_line_bytes} bytes"
                yield line_no, [LineError(file_name, line_no, "(line)", message)], raw
                continue
            if line_no == 1:
                raw = raw.removeprefix(_UTF8_BOM)
            stripped = raw.strip()
            if not stripped:
                continue
            data_lines += 1
            try:
                record = loads(stripped)
            except orjson.JSONDecodeError as exc:
                reason = str(exc)
                if "utf-8" in reason.lower() or "surrogate" in reason.lower():
                    reason = "is not valid UTF-8"
                else:
                    reason = f"is not valid JSON: {reason}"
                yield line_no, [LineError(file_name, line_no, "(line)", reason)], raw
                continue
            yield line_no, parse(record, line_no), raw
    except _STREAM_ERRORS as exc:
        yield line_no + 1, [LineError(file_name, line_no + 1, "(file)", _stream_error(exc))], None
        return
    if not data_lines:
        message = "is empty" if not line_no else "has no data lines, only blank ones"
        yield 1, [LineError(file_name, 1, "(file)", f"{message}; there is nothing to import")], None


def _csv_value(row: Mapping[str, str], column: str) -> str | None:
    value = row.get(column)
    return value if value else None


def _csv_int(value: str | None) -> Any:
    if value is None:
        return None
    text = value.strip()
    if not _CSV_WHOLE_NUMBER.fullmatch(text):
        return value  # reported by the parser as "must be a whole number"
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return value


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


class _CsvLines:
    """Feeds ``csv.reader`` one physical line at a time and refuses a record (one or more lines) longer than the
    cap, so an endless line or a quote that never closes cannot fill memory. The reader resets
    ``record_chars`` after each record."""

    def __init__(self, text: io.TextIOWrapper, max_chars: int) -> None:
        self._readline = text.readline
        self._max_chars = max_chars
        self.record_chars = 0

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        line = self._readline(self._max_chars + 1)
        if not line:
            raise StopIteration
        self.record_chars += len(line)
        if self.record_chars > self._max_chars:
            raise _RecordTooLong
        return line


def _csv_header_problem(header: list[str]) -> tuple[str | None, dict[str, str]]:
    """(what is wrong with the header or None, label column -> question slug)."""
    label_columns = {
        column: column[len("label_") :]
        for column in header
        if column.startswith("label_") and LABEL_KEY.fullmatch(column[len("label_") :])
    }
    bad_labels = [column for column in header if column.startswith("label_") and column not in label_columns]
    unknown = [
        column
        for column in header
        if column not in CSV_COLUMNS and column not in label_columns and column not in bad_labels
    ]
    missing = [column for column in ("relation", "tail") if column not in header]
    repeated = sorted({column for column in header if header.count(column) > 1})
    problems = []
    if unknown:
        problems.append(f"unknown columns: {_names(unknown)}")
    if bad_labels:
        problems.append(f"label columns must be named label_<question slug> ([a-z][a-z0-9_]*): {_names(bad_labels)}")
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if repeated:
        problems.append(f"columns named more than once: {_names(repeated)}")
    return ("; ".join(problems) or None), label_columns


def iter_csv(content: IO[bytes], parser: LineParser, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[ReadResult]:
    """(line number, staging row or errors, raw row) for every data row; line numbers count the header as 1.

    Raw is None for a file-level problem (a bad header, no data rows, a CSV syntax error or a record past the
    line cap, after which the rest of the file cannot be read reliably, or a damaged stream).
    """
    text = io.TextIOWrapper(content, encoding="utf-8", errors="surrogateescape", newline="")
    lines = _CsvLines(text, max_line_bytes)
    reader = csv.reader(lines, strict=True)
    file_name = parser.file_name

    def file_error(line_no: int, field: str, message: str) -> ReadResult:
        return line_no, [LineError(file_name, line_no, field, message)], None

    try:
        header = next(reader)
    except StopIteration:
        yield file_error(1, "(file)", "is empty; there is nothing to import")
        return
    except csv.Error as exc:
        yield file_error(1, "(header)", f"is not valid CSV: {exc}")
        return
    except _RecordTooLong:
        yield file_error(1, "(header)", f"is longer than {max_line_bytes} characters")
        return
    except _STREAM_ERRORS as exc:
        yield file_error(1, "(file)", _stream_error(exc))
        return
    lines.record_chars = 0
    header = [column.strip().lstrip("\ufeff") for column in header]
    problem, label_columns = _csv_header_problem(header)
    if problem:
        yield file_error(1, "(header)", problem)
        return
    width = len(header)
    previous_line = reader.line_num
    data_rows = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            message = f"is not valid CSV: {exc}; the rest of the file was not read"
            yield file_error(reader.line_num, "(line)", message)
            return
        except _RecordTooLong:
            message = f"is longer than {max_line_bytes} characters; the rest of the file was not read"
            yield file_error(previous_line + 1, "(line)", message)
            return
        except _STREAM_ERRORS as exc:
            yield file_error(reader.line_num + 1, "(file)", _stream_error(exc))
            return
        lines.record_chars = 0
        line_no = previous_line + 1
        previous_line = reader.line_num
        raw = ",".join(cells).encode("utf-8", "surrogateescape")
        if not any(cell.strip() for cell in cells):
            continue
        data_rows += 1
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
                message = f"must be yes or no, got {_brief(row[column])}"
                label_errors.append(LineError(file_name, line_no, column, message))
        if labels:
            record["labels"] = labels
        result = parser.parse(record, line_no)
        if label_errors:
            result = label_errors + (result if isinstance(result, list) else [])
        yield line_no, result, raw
    if not data_rows:
        yield file_error(1, "(file)", "has a header but no data rows; there is nothing to import")
