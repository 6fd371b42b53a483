"""Read ingest files line by line: JSON Lines and CSV, gzipped or not, under a size cap. Pure Python (no Django).

The readers yield ``ReadResult`` s: each line parsed by ``parsing.LineParser`` into a staging row or its
``LineError`` s. Whatever the bytes, they never raise: a problem that stops a file from being read to its end (a
damaged gzip stream, the size cap, a CSV quote that never closes, no data at all) is a file-level ``LineError``
yielded with ``None`` as its raw line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, cast

import orjson

from knowledge.ingest.parsing import (
    CSV_COLUMNS,
    LABEL_KEY,
    MAX_LINE_BYTES,
    LineError,
    LineParser,
    ReadResult,
    _brief,
    _names,
)

_CSV_TRUE = frozenset({"yes", "true", "1", "y"})
_CSV_FALSE = frozenset({"no", "false", "0", "n"})
_CSV_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_UTF8_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1024 * 1024  # how much of an over-long line is read at a time while skipping it


class FileTooLarge(Exception):
    """The decompressed content passed the configured cap (a gzip bomb or a wrong file)."""


class _RecordTooLong(Exception):
    """A CSV record grew past the line cap before it ended (an endless line or a quote that never closes)."""


# What reading a damaged or oversized stream raises; the readers turn each into a file-level error.
_STREAM_ERRORS = (FileTooLarge, gzip.BadGzipFile, EOFError, zlib.error)


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
