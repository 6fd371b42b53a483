"""Property-based fuzzing of the pure ingest parser (no database).

Whatever bytes arrive, ``iter_jsonl``, ``iter_csv`` (over ``open_content``) and ``LineParser.parse`` never raise:
each line gives either a staging row that PostgreSQL can store (no NUL, no lone surrogate, JSON columns that
``jsonb`` accepts, no text a spreadsheet would run) or ``LineError`` s naming the file, the line and a field, with a
short message that can itself be stored. The examples are derandomized and bounded so the file runs in seconds.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import tracemalloc
from collections.abc import Iterable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.ingest.parsing import STAGING_COLUMNS, LineError, LineParser
from knowledge.ingest.readers import iter_csv, iter_jsonl, open_content

RELATIONS = {"capable_of": 1, "used_with": 2, "used_for_function": 3}
FILE_NAME = "fuzz.data"
SHORT_LINES = 400  # a small line cap so that "too long" is reached often without megabytes of examples
FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT_COLUMNS = {
    name
    for name in STAGING_COLUMNS
    if name not in ("line_no", "file_no", "pair_count", "relation_id", "support", "p1_attrs", "p2_attrs", "labels")
}
FREE_TEXT_COLUMNS = (
    "query_text",
    "p1_id",
    "p1_title",
    "p1_cat",
    "p2_id",
    "p2_title",
    "p2_cat",
    "head_text",
    "tail",
    "generator",
    "prompt_id",
)
# Written out independently of the parser: what a spreadsheet would run (docs/formats.md, "Spreadsheet formulas").
FORMULA = re.compile(r"[=@\t\r]|[+-](?![0-9]|[.,][0-9]|\Z)")


def make_parser() -> LineParser:
    return LineParser(relation_ids=RELATIONS, file_name=FILE_NAME, file_no=0)


def storable(text: str) -> bool:
    """PostgreSQL text and jsonb refuse NUL and lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_row(row: tuple[Any, ...]) -> None:
    assert len(row) == len(STAGING_COLUMNS)
    values = dict(zip(STAGING_COLUMNS, row, strict=True))
    for name in TEXT_COLUMNS:
        value = values[name]
        assert value is None or (isinstance(value, str) and storable(value)), (name, value)
    for name in ("line_no", "file_no", "pair_count", "relation_id", "support"):
        value = values[name]
        assert value is None or (type(value) is int and 0 <= value < 2**63), (name, value)
    for name in ("p1_attrs", "p2_attrs", "labels"):
        value = values[name]
        if value is not None:
            assert isinstance(value, str) and storable(value) and "\\u0000" not in value, (name, value)
            assert isinstance(orjson.loads(value), dict)
    for name in FREE_TEXT_COLUMNS:
        value = values[name]
        assert not (value and FORMULA.match(value)), (name, value)


def check_errors(errors: list[LineError], line_no: int) -> None:
    assert errors, "an invalid line must say why"
    for error in errors:
        assert isinstance(error, LineError)
        assert error.file == FILE_NAME
        assert error.line == line_no >= 1
        assert isinstance(error.field, str) and error.field and storable(error.field) and len(error.field) <= 200
        assert isinstance(error.message, str) and error.message and storable(error.message)
        assert len(error.message) <= 1000, error.message


def check_results(results: Iterable[tuple[int, Any, bytes | None]]) -> list[tuple[int, Any, bytes | None]]:
    """Run the iterator to its end (it must not raise) and check every line it yields."""
    seen = []
    previous = 0
    for line_no, result, raw in results:
        assert isinstance(line_no, int) and line_no >= max(previous, 1)
        previous = line_no
        assert raw is None or isinstance(raw, bytes)
        assert raw is not None or isinstance(result, list), "a file-level entry is always an error"
        if isinstance(result, tuple):
            check_row(result)
            assert result[0] == line_no
        else:
            check_errors(result, line_no)
        seen.append((line_no, result, raw))
    return seen


def read_jsonl(data: bytes, *, max_bytes: int = 10_000_000, max_line_bytes: int = SHORT_LINES) -> list[Any]:
    content = open_content(io.BufferedReader(io.BytesIO(data)), max_bytes=max_bytes)
    return check_results(iter_jsonl(content, make_parser(), max_line_bytes=max_line_bytes))


def read_csv(data: bytes, *, max_bytes: int = 10_000_000, max_line_bytes: int = SHORT_LINES) -> list[Any]:
    content = open_content(io.BufferedReader(io.BytesIO(data)), max_bytes=max_bytes)
    return check_results(iter_csv(content, make_parser(), max_line_bytes=max_line_bytes))


# -- strategies ------------------------------------------------------------------------------------------------
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udcff",
        "\ufeff",
        "=cmd|' /C calc'!A0",
        "@SUM(1+1)",
        '+HYPERLINK("http://x")',
        "-cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1",
        "-20°C rated boots",
        "+2 sizes",
        "-.5 inch",
        "-",
        "...",
        "\u202e",
        "ｘ",
        "𝔘nicode",
        "h" * 600,
        "q" * 5000,
    ]
)
ANY_TEXT = st.one_of(
    NASTY_TEXT,
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Zs"]), max_size=6),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**30, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 3.0, 1e30, -0.0, float("nan"), float("inf")]),
    ANY_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)
SLUG = st.from_regex(r"[a-z][a-z ]{0,18}[a-z]", fullmatch=True)
PRODUCT = st.fixed_dictionaries(
    {"id": st.from_regex(r"[A-Z][A-Z0-9]{0,9}", fullmatch=True)},
    optional={
        "title": SLUG,
        "category": SLUG,
        "attributes": st.dictionaries(SLUG, st.one_of(SLUG, st.integers(0, 999), st.booleans()), max_size=3),
    },
)
COMMON = {"relation": st.sampled_from(sorted(RELATIONS)), "tail": SLUG}
OPTIONAL = {
    "generator": SLUG,
    "prompt_id": SLUG,
    "support": st.integers(1, 1000),
    "labels": st.dictionaries(st.sampled_from(["plausible", "typical"]), st.booleans(), max_size=2),
}
VALID_RECORDS = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.just("search_buy"), "query": SLUG, "product": PRODUCT, **COMMON},
        optional={"count": st.integers(1, 100), **OPTIONAL},
    ),
    st.fixed_dictionaries(
        {"kind": st.just("co_buy"), "product": PRODUCT, "other_product": PRODUCT, **COMMON},
        optional={"count": st.integers(1, 100), **OPTIONAL},
    ).filter(lambda record: record["product"]["id"] != record["other_product"]["id"]),
    st.fixed_dictionaries({"kind": st.just("plain"), "head": SLUG, **COMMON}, optional=OPTIONAL),
)
FIELD_PATHS = [
    ("kind",),
    ("query",),
    ("head",),
    ("relation",),
    ("tail",),
    ("generator",),
    ("prompt_id",),
    ("count",),
    ("support",),
    ("labels",),
    ("product",),
    ("other_product",),
    ("product", "id"),
    ("product", "title"),
    ("product", "category"),
    ("product", "attributes"),
    ("other_product", "id"),
    ("other_product", "attributes"),
    ("labels", "plausible"),
    ("surprise",),
]
INSERTS = [
    b'"',
    b"{",
    b"}",
    b"[",
    b",",
    b":",
    b"\\",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"\\ud800",
    b"\\u0000",
    b"\r",
    b"\n",
    b"\t",
    b"\xef\xbb\xbf",
    b"NaN",
    b"Infinity",
    b"1e999",
    b"99999999999999999999999",
    b"=cmd|' /C calc'!A0",
]


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    if len(path) == 1:
        record[path[0]] = value
    else:
        inner = record.get(path[0])
        if not isinstance(inner, dict):
            inner = record[path[0]] = {}
        inner[path[1]] = value
    return record


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """Byte flips, truncation and inserted syntax, NULs, invalid UTF-8 and surrogates at random places."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate"]))
        position = draw(st.integers(0, max(len(buffer) - 1, 0)))
        if operation == "flip" and buffer:
            buffer[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "truncate":
            del buffer[position:]
        elif operation == "insert":
            buffer[position:position] = draw(st.sampled_from(INSERTS))
        elif operation == "delete" and buffer:
            del buffer[position : position + draw(st.integers(1, 8))]
        elif operation == "duplicate":
            buffer[position:position] = buffer[position : position + draw(st.integers(1, 30))]
    return bytes(buffer)


def jsonl_document(records: list[dict[str, Any]], *, crlf: bool = False, bom: bool = False) -> bytes:
    separator = b"\r\n" if crlf else b"\n"
    data = separator.join(orjson.dumps(record) for record in records) + separator
    return (b"\xef\xbb\xbf" if bom else b"") + data


CSV_HEADER = [
    "kind",
    "query",
    "product_id",
    "product_title",
    "product_attributes",
    "other_product_id",
    "head",
    "count",
    "relation",
    "tail",
    "generator",
    "support",
    "label_plausible",
]


def csv_document(records: list[dict[str, Any]], *, crlf: bool = False) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(CSV_HEADER)
    for record in records:
        product = record.get("product") or {}
        other = record.get("other_product") or {}
        labels = record.get("labels") or {}
        writer.writerow(
            [
                record.get("kind", ""),
                record.get("query", ""),
                product.get("id", ""),
                product.get("title", ""),
                orjson.dumps(product["attributes"]).decode() if product.get("attributes") else "",
                other.get("id", ""),
                record.get("head", ""),
                record.get("count", ""),
                record["relation"],
                record["tail"],
                record.get("generator", ""),
                record.get("support", ""),
                "" if "plausible" not in labels else "yes" if labels["plausible"] else "no",
            ]
        )
    return out.getvalue().encode()


# -- properties ------------------------------------------------------------------------------------------------
@FUZZ
@given(st.lists(VALID_RECORDS, min_size=1, max_size=4), st.booleans(), st.booleans())
def test_valid_records_become_rows_in_both_formats(records: list[dict[str, Any]], crlf: bool, bom: bool) -> None:
    """The baseline the mutations start from: generated valid lines are accepted, with or without CRLF and BOM."""
    jsonl = read_jsonl(jsonl_document(records, crlf=crlf, bom=bom), max_line_bytes=1_000_000)
    assert [type(result) for _line, result, _raw in jsonl] == [tuple] * len(records), jsonl
    rows = read_csv(csv_document(records, crlf=crlf), max_line_bytes=1_000_000)
    assert [type(result) for _line, result, _raw in rows] == [tuple] * len(records), rows
    assert [row[19] for _line, row, _raw in rows] == [row[19] for _line, row, _raw in jsonl]  # same candidates


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_jsonl_reader(data: bytes) -> None:
    read_jsonl(data)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_csv_reader(data: bytes) -> None:
    read_csv(data)


@FUZZ
@given(st.data(), st.lists(VALID_RECORDS, min_size=1, max_size=3), st.booleans(), st.booleans())
def test_mutated_jsonl_lines_give_rows_or_named_errors(
    data: st.DataObject, records: list[dict[str, Any]], crlf: bool, bom: bool
) -> None:
    read_jsonl(data.draw(mutated(jsonl_document(records, crlf=crlf, bom=bom))))


@FUZZ
@given(st.data(), st.lists(VALID_RECORDS, min_size=1, max_size=3), st.booleans())
def test_mutated_csv_rows_give_rows_or_named_errors(
    data: st.DataObject, records: list[dict[str, Any]], crlf: bool
) -> None:
    read_csv(data.draw(mutated(csv_document(records, crlf=crlf))))


@FUZZ
@given(st.data(), st.lists(VALID_RECORDS, min_size=1, max_size=2), st.booleans())
def test_mutated_gzip_streams_give_a_file_error_not_an_exception(
    data: st.DataObject, records: list[dict[str, Any]], as_csv: bool
) -> None:
    document = csv_document(records) if as_csv else jsonl_document(records)
    compressed = gzip.compress(document, mtime=0)
    damaged = data.draw(mutated(compressed))
    if not damaged.startswith(b"\x1f\x8b"):
        damaged = b"\x1f\x8b" + damaged[2:]
    results = read_csv(damaged) if as_csv else read_jsonl(damaged)
    assert results, "a damaged gzip file must produce at least one error or row"


@FUZZ
@given(VALID_RECORDS, st.sampled_from(FIELD_PATHS), JSON_VALUES)
def test_any_json_value_in_any_field_gives_a_row_or_errors(
    record: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    result = make_parser().parse(_set(record, path, value), 7)
    if isinstance(result, tuple):
        check_row(result)
    else:
        check_errors(result, 7)


@FUZZ
@given(st.one_of(JSON_VALUES, st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=6)))
def test_any_json_value_as_a_whole_line_gives_a_row_or_errors(record: Any) -> None:
    result = make_parser().parse(record, 3)
    if isinstance(result, tuple):
        check_row(result)
    else:
        check_errors(result, 3)


@FUZZ
@given(VALID_RECORDS, st.sampled_from(FIELD_PATHS), JSON_VALUES)
def test_any_json_value_survives_the_round_trip_through_a_jsonl_line(
    record: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    record = _set(record, path, value)
    try:
        line = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        # orjson refuses it (a lone surrogate, an integer past 64 bits, a NaN): the standard library writes it
        # anyway, as another producer might (escaped surrogates, big integers, NaN literals), for the reader to judge
        line = json.dumps(record, default=repr, skipkeys=True).encode()
    read_jsonl(line + b"\n", max_line_bytes=1_000_000)


@FUZZ
@given(
    st.lists(
        st.lists(
            st.one_of(ANY_TEXT, st.sampled_from(['"', '""', ",", "\n", "\r\n", '"a,b"', "=1+1", "\x00"])),
            max_size=14,
        ),
        max_size=4,
    ),
    st.lists(st.sampled_from([*CSV_HEADER, "label_Bad Key", "label_", "tial", "\ufeffkind"]), max_size=14),
)
def test_random_csv_cells_under_any_header_give_rows_or_named_errors(rows: list[list[str]], header: list[str]) -> None:
    text = "\n".join([",".join(header), *(",".join(cells) for cells in rows)])
    read_csv(text.encode("utf-8", "surrogatepass"))


# -- targeted cases the properties guard -----------------------------------------------------------------------
@pytest.mark.parametrize("field", ["kind", "relation", "tail", "labels", "product", "support"])
@pytest.mark.parametrize("depth", [100, 1_000, 1_023, 1_025, 50_000])
def test_deeply_nested_json_is_a_line_error_not_a_recursion_error(depth: int, field: str) -> None:
    """orjson parses up to 1,024 levels, deeper than Python's repr() can print: the message must not repr it."""
    record = {"head": "mug", "relation": "capable_of", "tail": "hold coffee"}
    record[field] = "NESTED"
    line = orjson.dumps(record).replace(b'"NESTED"', b"[" * depth + b"]" * depth) + b"\n"
    ((line_no, result, _raw),) = read_jsonl(line, max_line_bytes=1_000_000)
    assert line_no == 1 and isinstance(result, list)
    assert [error.field for error in result] == ["(line)" if depth > 1_024 else field]


def test_deeply_nested_python_values_in_every_field_are_reported_briefly() -> None:
    nested: Any = []
    for _ in range(20_000):
        nested = [nested]
    for path in FIELD_PATHS:
        record = _set({"head": "mug", "relation": "capable_of", "tail": "hold coffee"}, path, nested)
        result = make_parser().parse(record, 1)
        assert isinstance(result, list), path
        check_errors(result, 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10**30, "must be between 1 and"),
        (10**5000, "digits"),
        (3.5, "must be a whole number, got 3.5"),
        (3.0, "must be a whole number, got 3.0"),
        (float("nan"), "must be a whole number, got nan"),
        (float("inf"), "must be a whole number, got inf"),
        ("12", "must be a whole number, not text"),
    ],
    ids=["1e30", "5000-digits", "3.5", "3.0", "nan", "inf", "text"],
)
def test_numbers_of_the_wrong_kind_are_named_plainly(value: Any, expected: str) -> None:
    result = make_parser().parse({"head": "mug", "relation": "capable_of", "tail": "hold", "support": value}, 2)
    assert isinstance(result, list)
    check_errors(result, 2)
    assert [error.field for error in result] == ["support"]
    assert expected in result[0].message


def test_huge_json_integers_and_non_finite_numbers_are_refused() -> None:
    lines = [
        b'{"head": "mug", "relation": "capable_of", "tail": "hold", "support": 100000000000000000000000000}',
        b'{"head": "mug", "relation": "capable_of", "tail": "hold", "support": NaN}',
        b'{"head": "mug", "relation": "capable_of", "tail": "hold", "support": Infinity}',
        b'{"head": "mug", "relation": "capable_of", "tail": "hold", "support": 1e999}',
        b'{"head": "mug", "relation": "capable_of", "tail": "hold", "support": 2.5}',
    ]
    results = read_jsonl(b"\n".join(lines))
    assert [line for line, _result, _raw in results] == [1, 2, 3, 4, 5]
    assert all(isinstance(result, list) for _line, result, _raw in results)
    assert results[0][1][0].field == "support" and results[4][1][0].field == "support"
    assert all(result[0].field == "(line)" for _line, result, _raw in results[1:4])


def test_duplicate_keys_keep_the_last_value_which_is_validated() -> None:
    ((_line, result, _raw),) = read_jsonl(b'{"head": "mug", "relation": "capable_of", "tail": "ok", "tail": "=1+1"}')
    assert isinstance(result, list) and [error.field for error in result] == ["tail"]


def test_a_bom_and_crlf_line_ends_are_accepted_in_jsonl() -> None:
    data = b'\xef\xbb\xbf{"head": "mug", "relation": "capable_of", "tail": "hold coffee"}\r\n\r\n'
    ((line_no, result, _raw),) = read_jsonl(data)
    assert line_no == 1 and isinstance(result, tuple) and result[17] == "hold coffee"


def test_a_bom_elsewhere_than_the_start_of_the_file_is_an_error() -> None:
    good = b'{"head": "mug", "relation": "capable_of", "tail": "hold coffee"}'
    results = read_jsonl(good + b"\n\xef\xbb\xbf" + good + b"\n")
    assert isinstance(results[0][1], tuple) and isinstance(results[1][1], list)


@pytest.mark.parametrize("reader", [read_jsonl, read_csv])
def test_a_very_long_line_is_refused_without_reading_it_into_memory(reader: Any) -> None:
    """A gzip bomb within the size cap that is one endless line: memory stays near the line cap, not the file."""
    line_cap = 64 * 1024
    header = b"head,relation,tail\n" if reader is read_csv else b""
    data = gzip.compress(header + b"a" * 20_000_000 + b"\n" + b"mug,capable_of,hold\n" * 2, mtime=0)
    tracemalloc.start()
    try:
        results = reader(data, max_bytes=30_000_000, max_line_bytes=line_cap)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak
    first_line, errors, _raw = results[0]
    assert first_line == (2 if reader is read_csv else 1)
    assert isinstance(errors, list) and "longer than" in errors[0].message


def test_the_lines_after_a_too_long_jsonl_line_are_still_read() -> None:
    good = b'{"head": "mug", "relation": "capable_of", "tail": "hold coffee"}'
    results = read_jsonl(b"x" * 1000 + b"\n" + good + b"\n", max_line_bytes=200)
    assert [(line, type(result)) for line, result, _raw in results] == [(1, list), (2, tuple)]


def test_a_decompressed_size_past_the_cap_is_a_file_error() -> None:
    for reader in (read_jsonl, read_csv):
        data = gzip.compress(b"head,relation,tail\n" + b"\n" * 1_000_000, mtime=0)
        results = reader(data, max_bytes=10_000)
        assert results[-1][2] is None  # a file-level problem: no raw line to write to a rejects file
        errors = results[-1][1]
        assert errors[0].field == "(file)" and "exceeds 10000 bytes" in errors[0].message


@pytest.mark.parametrize(
    ("data", "reader", "message"),
    [
        (b"", read_jsonl, "is empty"),
        (b"\n\n  \r\n\t\n", read_jsonl, "no data lines"),
        (b"", read_csv, "is empty"),
        (b"head,relation,tail\n", read_csv, "no data rows"),
        (b"head,relation,tail\n,,\n\n", read_csv, "no data rows"),
    ],
)
def test_a_file_without_data_is_one_file_error(data: bytes, reader: Any, message: str) -> None:
    ((line_no, errors, raw),) = reader(data)
    assert line_no == 1 and raw is None
    assert [error.field for error in errors] == ["(file)"] and message in errors[0].message


def test_csv_header_problems_are_shown_safely() -> None:
    data = b"head,relation,tail,col\xff\x00umn," + b"x" * 5000 + b"\nmug,capable_of,hold,,\n"
    ((line_no, errors, raw),) = read_csv(data, max_line_bytes=1_000_000)
    assert line_no == 1 and raw is None and errors[0].field == "(header)"
    assert "unknown columns" in errors[0].message


def test_csv_label_columns_must_name_a_question_slug() -> None:
    ((_line, errors, _raw),) = read_csv(b"head,relation,tail,label_Bad Key\nmug,capable_of,hold,yes\n")
    assert errors[0].field == "(header)" and "label_Bad Key" in errors[0].message


@pytest.mark.parametrize("cell", ["1_000", "\u0663", "0x10", " 12 "])
def test_csv_whole_numbers_are_plain_ascii_digits(cell: str) -> None:
    data = f"head,relation,tail,support\nmug,capable_of,hold,{cell}\n".encode()
    ((_line, result, _raw),) = read_csv(data)
    if cell.strip().isascii() and cell.strip().isdigit():
        assert isinstance(result, tuple) and result[22] == int(cell)
    else:
        assert isinstance(result, list) and result[0].field == "support"


def test_unknown_fields_with_nul_or_huge_names_are_reported_briefly() -> None:
    record = {"head": "mug", "relation": "capable_of", "tail": "hold", "a\x00b": 1, "k" * 10_000: 2}
    for index in range(30):
        record[f"extra{index}"] = index
    result = make_parser().parse(record, 4)
    assert isinstance(result, list)
    check_errors(result, 4)
    assert "and 22 more" in result[0].message


def test_attributes_that_jsonb_would_refuse_are_errors() -> None:
    for attributes in ({"colour": "bl\x00ack"}, {"a\x00": "x"}, {"size": 2**64}, {"w": math.nan}, {1: "x"}):
        record = {"query": "q", "product": {"id": "B", "attributes": attributes}, "relation": "capable_of", "tail": "t"}
        result = make_parser().parse(record, 1)
        assert isinstance(result, list), attributes
        assert [error.field for error in result] == ["product.attributes"], attributes
