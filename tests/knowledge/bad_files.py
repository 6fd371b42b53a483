"""A table of bad ingest files, shared by the service and API tests: each with the line, field and words of the
problem its report must name."""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from typing import Any

import orjson

from knowledge.ingest import staging
from knowledge.models import BehaviourPair, Candidate, Category, IngestedFile, IngestRun, Product, SearchQuery
from tests.conftest import search_buy

CAP = 4_000_000  # INGEST_MAX_DECOMPRESSED_BYTES for these tests


def jsonl(*lines: bytes) -> bytes:
    return b"\n".join(lines) + b"\n"


def line(*args: Any, **overrides: Any) -> bytes:
    return orjson.dumps(search_buy(*args, **overrides))


GOOD = line()
PLAIN = b'{"kind": "plain", "head": "yoga mat", "relation": "used_for_function", "tail": "cushion joints"}'
CSV_HEADER = b"kind,query,product_id,product_title,product_attributes,relation,tail,count\n"
CSV_GOOD = b"search_buy,winter boots,B0001,Boot,,capable_of,grip icy sidewalks,12\n"
BINARY = b"\x89PNG\r\n\x1a\n" + random.Random(8).randbytes(4096)


@dataclass(frozen=True)
class BadFile:
    name: str
    content: bytes
    line: int
    field: str
    message: str


BAD_FILES = {
    "malformed-json": BadFile("c.jsonl", jsonl(GOOD, b'{"kind": "search_buy", "query": "q"'), 2, "(line)", "JSON"),
    "not-an-object": BadFile("c.jsonl", jsonl(GOOD, b'"just text"'), 2, "(line)", "must be a JSON object"),
    "wrong-type-tail": BadFile("c.jsonl", jsonl(GOOD, line(5)), 2, "tail", "must be a string, not a number"),
    "wrong-type-product": BadFile("c.jsonl", jsonl(GOOD, line(product="B1")), 2, "product", "must be an object"),
    "wrong-type-labels": BadFile(
        "c.jsonl", jsonl(GOOD, line(labels={"plausible": "yes"})), 2, "labels.plausible", "true or false"
    ),
    "float-count": BadFile("c.jsonl", jsonl(GOOD, line(count=2.5)), 2, "count", "must be a whole number, got 2.5"),
    "huge-integer": BadFile(
        "c.jsonl",
        jsonl(GOOD, GOOD.replace(b'"count":12', b'"count":100000000000000000000000000000')),
        2,
        "count",
        "must be between 1 and",
    ),
    "nan": BadFile("c.jsonl", jsonl(GOOD, GOOD.replace(b'"count":12', b'"count":NaN')), 2, "(line)", "JSON"),
    "huge-field": BadFile("c.jsonl", jsonl(GOOD, line("x" * 100_000)), 2, "tail", "100000 characters long"),
    "huge-line": BadFile("c.jsonl", jsonl(GOOD, line("x" * 2_000_000)), 2, "(line)", "longer than 1048576 bytes"),
    "deeply-nested": BadFile(
        "c.jsonl", jsonl(GOOD, b'{"tail": ' + b"[" * 5000 + b"]" * 5000 + b"}"), 2, "(line)", "depth"
    ),
    "deeply-nested-kind": BadFile(  # within orjson's depth limit, past what repr() can print
        "c.jsonl", jsonl(GOOD, GOOD.replace(b'"search_buy"', b"[" * 1020 + b"]" * 1020)), 2, "kind", "must be one of"
    ),
    "invalid-utf8-jsonl": BadFile("c.jsonl", jsonl(GOOD, GOOD.replace(b"grip", b"gr\xffp")), 2, "(line)", "UTF-8"),
    "invalid-utf8-csv": BadFile(
        "c.csv", CSV_HEADER + CSV_GOOD + CSV_GOOD.replace(b"grip", b"gr\xffp"), 3, "tail", "is not valid UTF-8"
    ),
    "invalid-utf8-csv-header": BadFile(
        "c.csv", CSV_HEADER.replace(b"count", b"co\xffunt\x00") + CSV_GOOD, 1, "(header)", "unknown columns"
    ),
    "nul-in-attributes": BadFile(
        "c.jsonl",
        jsonl(GOOD, line(product={"id": "B2", "attributes": {"colour": "bl\x00ack"}})),
        2,
        "product.attributes",
        "NUL",
    ),
    "nul-in-a-field-name": BadFile(
        "c.jsonl", jsonl(GOOD, orjson.dumps({**search_buy(), "ta\x00il": "x"})), 2, "(line)", "unknown fields"
    ),
    "formula-csv-tail": BadFile(
        "c.csv", CSV_HEADER + CSV_GOOD.replace(b"grip icy sidewalks", b"=cmd|' /C calc'!A0"), 2, "tail", "'='"
    ),
    "formula-csv-title": BadFile(
        "c.csv",
        CSV_HEADER + CSV_GOOD.replace(b",Boot,", b',"+HYPERLINK(""http://evil.invalid"",""x"")",'),
        2,
        "product.title",
        "'+' followed by something other than a number",
    ),
    "formula-csv-query": BadFile(
        "c.csv", CSV_HEADER + CSV_GOOD + CSV_GOOD.replace(b"winter boots", b"@SUM(1+1)"), 3, "query", "'@'"
    ),
    "formula-csv-attributes": BadFile(
        "c.csv",
        CSV_HEADER + CSV_GOOD.replace(b",Boot,,", b',Boot,"{""colour"": ""=1+1""}",'),
        2,
        "product.attributes",
        "'='",
    ),
    "formula-jsonl-head": BadFile(
        "c.jsonl", jsonl(PLAIN, PLAIN.replace(b'"yoga mat"', b"\"-cmd|' /C calc'!A0\"")), 2, "head", "'-' followed"
    ),
    "formula-jsonl-tab": BadFile("c.jsonl", jsonl(GOOD, line("\tcalc")), 2, "tail", "TAB"),
    "formula-jsonl-generator": BadFile("c.jsonl", jsonl(GOOD, line(generator="=1+1")), 2, "generator", "'='"),
    "formula-csv-signed-number-dde": BadFile(
        "c.csv",
        CSV_HEADER + CSV_GOOD.replace(b"grip icy sidewalks", b"-1+cmd|' /C calc'!A0"),
        2,
        "tail",
        "a number and an operator",
    ),
    "formula-csv-signed-number-hyperlink": BadFile(
        "c.csv",
        CSV_HEADER + CSV_GOOD.replace(b",Boot,", b',"+1+HYPERLINK(""http://evil.invalid"",""x"")",'),
        2,
        "product.title",
        "a number and an operator",
    ),
    "bidi-override-jsonl-tail": BadFile(
        "c.jsonl", jsonl(GOOD, line("grip icy \u202esklawedis")), 2, "tail", "bidirectional override (U+202E"
    ),
    "bidi-isolate-jsonl-query": BadFile(
        "c.jsonl", jsonl(GOOD, line(query="boots \u2067evil\u2069")), 2, "query", "bidirectional override (U+2067"
    ),
    "escape-jsonl-title": BadFile(
        "c.jsonl",
        jsonl(GOOD, line(product={"id": "B2", "title": "boot \x1b[2J\x1b[31mred"})),
        2,
        "product.title",
        "ESC",
    ),
    "newline-csv-query": BadFile(
        "c.csv", CSV_HEADER + CSV_GOOD.replace(b"winter boots", b'"winter\nboots"'), 2, "query", "line break"
    ),
    "newline-jsonl-tail": BadFile("c.jsonl", jsonl(GOOD, line("grip\r\nicy sidewalks")), 2, "tail", "carriage"),
    "gzip-bomb-past-the-cap": BadFile(
        "c.jsonl.gz", gzip.compress(GOOD + b" " * (CAP * 2), mtime=0), 1, "(file)", f"exceeds {CAP} bytes"
    ),
    "gzip-bomb-within-the-cap-one-endless-line": BadFile(
        "c.jsonl.gz", gzip.compress(GOOD + b" " * (CAP - 100_000), mtime=0), 1, "(line)", "longer than"
    ),
    "gzip-bomb-within-the-cap-blank-lines": BadFile(
        "c.jsonl.gz", gzip.compress(b"\n" * (CAP - 100_000), mtime=0), 1, "(file)", "no data lines"
    ),
    "truncated-gzip": BadFile(
        "c.jsonl.gz", gzip.compress(jsonl(*[GOOD] * 2000), mtime=0)[:300], 1, "(file)", "not a valid gzip file"
    ),
    "empty-jsonl": BadFile("c.jsonl", b"", 1, "(file)", "is empty"),
    "empty-csv": BadFile("c.csv", b"", 1, "(file)", "is empty"),
    "empty-gzip": BadFile("c.jsonl.gz", gzip.compress(b"", mtime=0), 1, "(file)", "is empty"),
    "blank-lines-only": BadFile("c.jsonl", b"\n  \n\r\n\t\n", 1, "(file)", "no data lines"),
    "binary-as-jsonl": BadFile("c.jsonl", BINARY, 1, "(line)", "UTF-8"),
    "binary-as-csv": BadFile("c.csv", BINARY, 1, "(header)", "unknown columns"),
    "csv-header-only": BadFile("c.csv", CSV_HEADER, 1, "(file)", "no data rows"),
    "csv-ragged-row": BadFile("c.csv", CSV_HEADER + CSV_GOOD + b"search_buy,q\n", 3, "(line)", "has 2 cells"),
    "csv-not-a-number": BadFile(
        "c.csv", CSV_HEADER + CSV_GOOD.replace(b",12\n", b",1_000\n"), 2, "count", "must be a whole number"
    ),
    "jsonl-bad-last-line": BadFile(
        "c.jsonl", jsonl(GOOD, GOOD, GOOD) + b'{"kind": "search_buy", "query": "winter', 4, "(line)", "JSON"
    ),
    "csv-bad-last-line": BadFile(
        "c.csv",
        CSV_HEADER + CSV_GOOD + CSV_GOOD + b'search_buy,q,B1,Boot,,capable_of,"grip',
        4,
        "(line)",
        "unexpected end of data",
    ),
}


def assert_nothing_imported() -> None:
    """No row in any table ingest writes, and no staging table left behind."""
    assert Candidate.objects.count() == 0
    assert Product.objects.count() == 0
    assert SearchQuery.objects.count() == 0
    assert BehaviourPair.objects.count() == 0
    assert Category.objects.count() == 0
    assert IngestedFile.objects.count() == 0
    assert staging.staging_tables() == []


def assert_names_the_problem(run: IngestRun, bad: BadFile) -> None:
    assert run.status == IngestRun.Status.FAILED, run.message
    assert "nothing was imported" in run.message
    run.refresh_from_db()  # the report itself was stored
    matching = [
        error
        for error in run.errors
        if (error["file"], error["line"], error["field"]) == (bad.name, bad.line, bad.field)
    ]
    assert matching, run.errors
    assert bad.message in matching[0]["message"], matching[0]
