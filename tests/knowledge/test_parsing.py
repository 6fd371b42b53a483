"""The line parser and helpers, without a database."""

from __future__ import annotations

import gzip
import io

import orjson
import pytest

from knowledge.ingest.parsing import LineParser, normalize_text
from knowledge.ingest.readers import FileTooLarge, detect_format, iter_csv, iter_jsonl, open_content

RELATIONS = {"capable_of": 1, "used_with": 2, "used_for_function": 3}


def parser() -> LineParser:
    return LineParser(relation_ids=RELATIONS, file_name="f.jsonl", file_no=0)


def parse_one(record: object) -> object:
    return parser().parse(record, 7)


def fields_of(errors: object) -> set[str]:
    assert isinstance(errors, list), errors
    return {error.field for error in errors}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Grip   ICY sidewalks. ", "grip icy sidewalks"),
        ("grip icy sidewalks!!!", "grip icy sidewalks"),
        ("Ｇｒｉｐ\u00a0icy", "grip icy"),  # NFKC folds full-width letters and no-break spaces
        ("Straße", "strasse"),
    ],
)
def test_normalize_text_folds_case_space_width_and_end_punctuation(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_a_search_buy_line_becomes_a_row_with_pair_and_dedup_keys() -> None:
    row = parse_one(
        {
            "query": "Winter Boots",
            "product": {"id": "B1", "title": "Boot"},
            "relation": "capable_of",
            "tail": "Grip ice.",
        }
    )
    assert isinstance(row, tuple)
    assert row[2] == "search_buy"
    assert row[4] == "winter boots"
    assert row[18] == "grip ice"
    same = parse_one({"query": "winter  boots", "product": {"id": "B1"}, "relation": "capable_of", "tail": "grip ice"})
    assert isinstance(same, tuple)
    assert same[13] == row[13]  # same pair
    assert same[19] == row[19]  # same candidate
    other_relation = parse_one(
        {"query": "winter boots", "product": {"id": "B1"}, "relation": "used_with", "tail": "grip ice"}
    )
    assert isinstance(other_relation, tuple)
    assert other_relation[19] != row[19]


def test_kind_is_inferred_from_the_fields_present() -> None:
    co_buy = parse_one({"product": {"id": "A"}, "other_product": {"id": "B"}, "relation": "used_with", "tail": "x"})
    plain = parse_one({"head": "yoga mat", "relation": "used_for_function", "tail": "stretching"})
    assert isinstance(co_buy, tuple) and co_buy[2] == "co_buy"
    assert isinstance(plain, tuple) and plain[2] == "plain"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"query": "q", "product": {"id": "B"}, "relation": "nope", "tail": "t"}, "relation"),
        ({"query": "q", "product": {"id": "B"}, "tail": "t"}, "relation"),
        ({"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": ""}, "tail"),
        ({"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "..."}, "tail"),
        ({"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "x" * 501}, "tail"),
        ({"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": 5}, "tail"),
        ({"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "a\x00b"}, "tail"),
        ({"query": "q", "product": {"title": "no id"}, "relation": "capable_of", "tail": "t"}, "product.id"),
        ({"query": "q", "product": "B1", "relation": "capable_of", "tail": "t"}, "product"),
        (
            {"query": "q", "product": {"id": "B", "colour": 1}, "relation": "capable_of", "tail": "t"},
            "product",
        ),
        (
            {"query": "q", "product": {"id": "B", "attributes": [1]}, "relation": "capable_of", "tail": "t"},
            "product.attributes",
        ),
        ({"kind": "search_buy", "product": {"id": "B"}, "relation": "capable_of", "tail": "t"}, "query"),
        ({"kind": "teleport", "head": "h", "relation": "capable_of", "tail": "t"}, "kind"),
        ({"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "t", "count": 0}, "count"),
        (
            {"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "t", "count": True},
            "count",
        ),
        (
            {"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "t", "support": 10**7},
            "support",
        ),
        (
            {
                "query": "q",
                "product": {"id": "B"},
                "relation": "capable_of",
                "tail": "t",
                "labels": {"ok": "yes"},
            },
            "labels.ok",
        ),
        (
            {
                "query": "q",
                "product": {"id": "B"},
                "relation": "capable_of",
                "tail": "t",
                "labels": {"Bad Key": True},
            },
            "labels",
        ),
        (
            {"query": "q", "product": {"id": "B"}, "relation": "capable_of", "tail": "t", "surprise": 1},
            "(line)",
        ),
        (
            {"product": {"id": "A"}, "other_product": {"id": "A"}, "relation": "used_with", "tail": "t"},
            "other_product.id",
        ),
        ({"kind": "plain", "head": "h", "query": "q", "relation": "capable_of", "tail": "t"}, "query"),
        (
            {
                "kind": "co_buy",
                "head": "h",
                "product": {"id": "A"},
                "other_product": {"id": "B"},
                "relation": "used_with",
                "tail": "t",
            },
            "head",
        ),
    ],
)
def test_every_kind_of_bad_field_is_reported_by_name(record: dict[str, object], field: str) -> None:
    result = parse_one(record)
    assert field in fields_of(result)
    assert all(error.line == 7 and error.file == "f.jsonl" for error in result)


def test_jsonl_reader_names_the_line_of_bad_json_invalid_utf8_and_non_objects() -> None:
    good = orjson.dumps({"head": "mug", "relation": "used_for_function", "tail": "hold coffee"})
    content = io.BytesIO(b"\n".join([good, b"{broken", b"", b"[1]", b'{"head": "\xff", "tail": "x"}']) + b"\n")
    results = {line: result for line, result, _raw in iter_jsonl(content, parser())}
    assert isinstance(results[1], tuple)
    assert "not valid JSON" in results[2][0].message
    assert 3 not in results  # blank lines are skipped
    assert "must be a JSON object" in results[4][0].message
    assert results[5][0].message == "is not valid UTF-8"


def test_csv_reader_maps_columns_labels_and_names_physical_lines() -> None:
    text = (
        "kind,query,product_id,product_title,product_attributes,relation,tail,count,label_plausible\n"
        'search_buy,"boots, winter",B1,Boot,"{""colour"":\n""red""}",capable_of,grip ice,3,yes\n'
        "search_buy,boots,B1,Boot,,capable_of,grip,many,maybe\n"
    )
    results = list(iter_csv(io.BytesIO(text.encode()), parser()))
    (line_a, row_a, _), (line_b, errors_b, _) = results
    assert line_a == 2 and isinstance(row_a, tuple)
    assert row_a[3] == "boots, winter" and row_a[23] == '{"plausible":true}'
    assert row_a[8] == '{"colour":"red"}'
    assert line_b == 4  # the quoted newline made row 1 span physical lines 2-3
    assert fields_of(errors_b) == {"count", "label_plausible"}


def test_csv_reader_rejects_unknown_and_missing_columns_in_the_header() -> None:
    results = list(iter_csv(io.BytesIO(b"query,product_id,tial\nq,B,t\n"), parser()))
    assert len(results) == 1
    line, errors, _ = results[0]
    assert line == 1
    message = errors[0].message
    assert "unknown columns: tial" in message and "missing columns: relation, tail" in message


def test_csv_reader_reports_invalid_utf8_and_ragged_rows() -> None:
    data = b"head,relation,tail\nmug,used_for_function,hold \xff coffee\nmug,used_for_function\n"
    results = {line: result for line, result, _raw in iter_csv(io.BytesIO(data), parser())}
    assert results[2][0].message == "is not valid UTF-8"
    assert "has 2 cells" in results[3][0].message


def test_gzip_is_detected_by_content_and_capped_when_decompressed() -> None:
    payload = b"x" * 10_000
    stream = open_content(io.BufferedReader(io.BytesIO(gzip.compress(payload))), max_bytes=20_000)
    assert stream.read() == payload
    bomb = open_content(io.BufferedReader(io.BytesIO(gzip.compress(b"0" * 1_000_000))), max_bytes=50_000)
    with pytest.raises(FileTooLarge):
        bomb.read()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jsonl", "jsonl"), ("a.ndjson.gz", "jsonl"), ("A.CSV", "csv"), ("a.csv.gz", "csv"), ("a.txt", None)],
)
def test_format_comes_from_the_file_name(name: str, expected: str | None) -> None:
    assert detect_format(name) == expected


@pytest.mark.parametrize(
    "tail",
    [
        "-20°C rated boots",
        "+2 year warranty",
        "5-10 days",
        "-5 degrees and colder",
        "+1 size up",
        "-20% off in winter",
        "ships in 2-3 days",
        "كلمة \u200fعربية",  # a right-to-left mark is ordinary Arabic or Hebrew text
        "winter 👩\u200d👧 outings",  # an emoji joiner is not a control character
    ],
)
def test_legitimate_text_that_looks_like_a_sign_or_holds_marks_is_accepted(tail: str) -> None:
    row = parse_one({"kind": "plain", "head": "boots", "relation": "capable_of", "tail": tail})
    assert isinstance(row, tuple), row


@pytest.mark.parametrize(
    ("tail", "words"),
    [
        ("-1+cmd|' /C calc'!A0", "a number and an operator"),
        ('+1+HYPERLINK("http://evil.invalid","x")', "a number and an operator"),
        ("-2 * 3", "a number and an operator"),
        ("+1.5&A1", "a number and an operator"),
        ("grip \u202eice", "U+202E"),
        ("grip \u2066ice\u2069", "U+2066"),
        ("grip \x1b[31mice", "ESC"),
        ("grip\nice", "line break"),
        ("grip\u2028ice", "line separator"),
        ("grip\x85ice", "NEL"),
        ("grip\x07ice", "control character (U+0007)"),
    ],
)
def test_formulas_after_a_signed_number_and_control_or_bidi_characters_are_refused(tail: str, words: str) -> None:
    errors = parse_one({"kind": "plain", "head": "boots", "relation": "capable_of", "tail": tail})
    assert isinstance(errors, list), errors
    assert [error.field for error in errors] == ["tail"] and words in errors[0].message, errors
