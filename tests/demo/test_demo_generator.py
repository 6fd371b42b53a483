"""The demo data generator (demo/generate.py) and the data set it ships. No Django, no database."""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo import generate  # noqa: E402

DEMO_DIR = ROOT / "demo"
SHIPPED_JSONL = DEMO_DIR / "candidates.jsonl.gz"
SHIPPED_TRUTH = DEMO_DIR / "truth.csv"

# -- the format rules of docs/formats.md (JSON Lines), written out independently of the generator
TOP_LEVEL = {
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
PRODUCT_KEYS = {"id", "title", "category", "attributes"}
RELATIONS = {
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
}
LABEL_KEYS = {"complete", "relevant", "informative", "plausible", "typical"}
DEFECTS = {
    "good",
    "incomplete",
    "echo_query",
    "echo_title",
    "generic",
    "implausible",
    "atypical",
    "blocked_pii",
    "junk",
}
TRAILING_PUNCTUATION = " .!?;,:…"
SPREADSHEET_FORMULA = re.compile(r"[=@\t\r]|[+-](?![0-9]|[.,][0-9]|\Z)")
EXPECTED_LABELS = {
    "good": {"complete": True, "relevant": True, "informative": True, "plausible": True, "typical": True},
    "incomplete": {"complete": False},
    "echo_query": {"complete": True, "relevant": True, "informative": False},
    "echo_title": {"complete": True, "relevant": True, "informative": False},
    "generic": {"informative": False},
    "implausible": {"complete": True, "relevant": True, "informative": True, "plausible": False},
    "atypical": {"plausible": True, "typical": False},
}


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(TRAILING_PUNCTUATION)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_text(problems: list[str], record: dict[str, Any], key: str, low: int, high: int) -> None:
    value = record.get(key)
    if not isinstance(value, str):
        problems.append(f"{key} must be a string")
    elif not low <= len(value.strip()) <= high:
        problems.append(f"{key} has {len(value.strip())} characters after trimming")
    elif low and not norm(value):
        problems.append(f"{key} has no text once punctuation and spaces are removed")
    elif SPREADSHEET_FORMULA.match(value) or SPREADSHEET_FORMULA.match(value.strip()):
        problems.append(f"{key} would run as a spreadsheet formula")


def check_product(problems: list[str], value: Any, key: str) -> None:
    if not isinstance(value, dict):
        problems.append(f"{key} must be an object")
        return
    if set(value) - PRODUCT_KEYS:
        problems.append(f"{key} has unknown fields {sorted(set(value) - PRODUCT_KEYS)}")
    check_text(problems, value, "id", 1, 100)
    for name, high in (("title", 1000), ("category", 200)):
        if name in value:
            check_text(problems, value, name, 0, high)
    if "attributes" in value:
        attributes = value["attributes"]
        if not isinstance(attributes, dict) or not all(
            isinstance(v, str | int | float | bool) or v is None for v in attributes.values()
        ):
            problems.append(f"{key}.attributes must be an object of scalar values")


def validate(record: Any) -> list[str]:
    """Every way a parsed line breaks the documented rules (an empty list for a valid line)."""
    if not isinstance(record, dict):
        return ["not an object"]
    problems: list[str] = []
    if set(record) - TOP_LEVEL:
        problems.append(f"unknown fields {sorted(set(record) - TOP_LEVEL)}")
    kind = record.get("kind")
    if kind not in ("search_buy", "co_buy", "plain"):
        return [*problems, f"bad kind {kind!r}"]
    if record.get("relation") not in RELATIONS:
        problems.append(f"unknown relation {record.get('relation')!r}")
    check_text(problems, record, "tail", 1, 500)
    for name in ("generator", "prompt_id"):
        if name in record:
            check_text(problems, record, name, 0, 200)
    if "support" in record and not (is_int(record["support"]) and 1 <= record["support"] <= 1_000_000):
        problems.append("support must be a whole number from 1 to 1,000,000")
    if "labels" in record:
        labels = record["labels"]
        if not isinstance(labels, dict) or not labels:
            problems.append("labels must be a non-empty object")
        else:
            for key, answer in labels.items():
                if key not in LABEL_KEYS or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                    problems.append(f"unknown label {key!r}")
                if not isinstance(answer, bool):
                    problems.append(f"label {key!r} must be true or false")
    if kind == "plain":
        check_text(problems, record, "head", 1, 500)
        for forbidden in ("query", "product", "other_product", "count"):
            if forbidden in record:
                problems.append(f"{forbidden} is not allowed for plain")
        return problems
    if "head" in record:
        problems.append("head is only for plain")
    if not (is_int(record.get("count")) and record["count"] >= 1):
        problems.append("count must be a whole number >= 1")
    check_product(problems, record.get("product"), "product")
    if kind == "search_buy":
        check_text(problems, record, "query", 1, 500)
        if "other_product" in record:
            problems.append("other_product is not allowed for search_buy")
    else:
        if "query" in record:
            problems.append("query is not allowed for co_buy")
        check_product(problems, record.get("other_product"), "other_product")
        if not problems and record["product"]["id"] == record["other_product"]["id"]:
            problems.append("a co_buy pair needs two different products")
    return problems


def head_identity(record: dict[str, Any]) -> tuple[str, ...]:
    if record["kind"] == "search_buy":
        return ("search_buy", norm(record["query"]), record["product"]["id"])
    if record["kind"] == "co_buy":
        return ("co_buy", record["product"]["id"], record["other_product"]["id"])
    return ("plain", norm(record["head"]))


# -- fixtures
@pytest.fixture(scope="module")
def rendered() -> tuple[str, str]:
    return generate.render(generate.build(generate.DEFAULT_SEED))


@pytest.fixture(scope="module")
def records(rendered: tuple[str, str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in rendered[0].splitlines()]


@pytest.fixture(scope="module")
def truth(rendered: tuple[str, str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(rendered[1])))


# -- tests
def test_same_seed_gives_byte_identical_output() -> None:
    first = generate.render(generate.build(7))
    second = generate.render(generate.build(7))
    assert first == second
    assert generate.gzip_bytes(first[0]) == generate.gzip_bytes(second[0])
    assert generate.render(generate.build(8))[0] != first[0]


def test_main_writes_both_files_deterministically(tmp_path: Path) -> None:
    out_a, out_b = tmp_path / "a" / "c.jsonl.gz", tmp_path / "b" / "c.jsonl.gz"
    assert generate.main(["--seed", "3", "--out", str(out_a)]) == 0
    assert generate.main(["--seed", "3", "--out", str(out_b)]) == 0
    assert out_a.read_bytes() == out_b.read_bytes()
    assert out_a.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0
    assert (out_a.parent / "truth.csv").read_text() == (out_b.parent / "truth.csv").read_text()


def test_shipped_files_are_the_seed_7_output(rendered: tuple[str, str]) -> None:
    """The committed data set is what `python -m demo.generate` writes (regenerate after edits)."""
    assert SHIPPED_JSONL.stat().st_size < 1_000_000
    assert gzip.decompress(SHIPPED_JSONL.read_bytes()).decode("utf-8") == rendered[0]
    assert SHIPPED_TRUTH.read_text(encoding="utf-8") == rendered[1]


def test_size_and_coverage(records: list[dict[str, Any]]) -> None:
    assert len(records) >= 2000
    kinds = Counter(r["kind"] for r in records)
    assert set(kinds) == {"search_buy", "co_buy", "plain"}
    assert kinds["plain"] >= 50 and kinds["co_buy"] >= 300
    categories = {r[key]["category"] for r in records for key in ("product", "other_product") if key in r}
    assert len(categories) >= 6
    assert len({r["relation"] for r in records}) >= 10
    products = {r[key]["id"] for r in records for key in ("product", "other_product") if key in r}
    assert 150 <= len(products) <= 300
    assert all(re.fullmatch(r"P\d{6}", product_id) for product_id in products)
    assert len({r["generator"] for r in records if "generator" in r}) >= 3
    assert sum("support" in r for r in records) >= 100
    assert 100 <= sum("labels" in r for r in records) <= 200


def test_every_line_follows_the_format(rendered: tuple[str, str]) -> None:
    lines = rendered[0].split("\n")
    assert lines[-1] == ""
    bad = {}
    for number, line in enumerate(lines[:-1], start=1):
        problems = validate(json.loads(line))
        if problems:
            bad[number] = problems
    assert not bad, dict(list(bad.items())[:5])


def test_fixed_key_order(records: list[dict[str, Any]]) -> None:
    order = list(generate.KEY_ORDER)
    for record in records:
        keys = list(record)
        assert keys == sorted(keys, key=order.index)
        for name in ("product", "other_product"):
            if name in record:
                assert list(record[name])[:1] == ["id"]


def test_truth_matches_the_lines(records: list[dict[str, Any]], truth: list[dict[str, str]]) -> None:
    assert len(truth) == len(records)
    assert [int(row["line"]) for row in truth] == list(range(1, len(records) + 1))
    defects = Counter(row["defect"] for row in truth)
    assert set(defects) == DEFECTS
    share = defects["good"] / len(truth)
    assert 0.33 <= share <= 0.42


def test_labels_agree_with_the_intended_defect(records: list[dict[str, Any]], truth: list[dict[str, str]]) -> None:
    labelled: Counter[str] = Counter()
    for record, row in zip(records, truth, strict=True):
        if "labels" not in record:
            continue
        labelled[row["defect"]] += 1
        expected = EXPECTED_LABELS[row["defect"]]
        assert {k: record["labels"][k] for k in expected if k in record["labels"]} == expected, (record, row)
    assert set(labelled) == set(EXPECTED_LABELS)


def test_defects_look_like_their_kind(records: list[dict[str, Any]], truth: list[dict[str, str]]) -> None:
    email_or_phone = re.compile(r"[\w.]+@[\w.]+\.\w+|555[ -]01\d\d")
    generic_heads: dict[str, set[tuple[str, ...]]] = {}
    for record, row in zip(records, truth, strict=True):
        tail, defect = record["tail"], row["defect"]
        if defect == "echo_query":
            assert record["kind"] == "search_buy"
            assert norm(record["query"]) in norm(tail)
        elif defect == "blocked_pii":
            assert email_or_phone.search(tail), tail
        elif defect == "generic":
            generic_heads.setdefault(norm(tail), set()).add(head_identity(record))
        elif defect != "junk":
            assert not email_or_phone.search(tail), tail
    # Generic tails are the same few strings, said of many unrelated heads.
    assert max(len(heads) for heads in generic_heads.values()) >= 20


def test_some_candidates_repeat_and_pairs_repeat(records: list[dict[str, Any]]) -> None:
    candidates = Counter((head_identity(r), r["relation"], norm(r["tail"])) for r in records)
    assert sum(1 for n in candidates.values() if n > 1) >= 30
    raw = Counter((head_identity(r), r["relation"], r["tail"]) for r in records)
    assert len(raw) > len(candidates)  # some repeats differ in case, spacing or a final period
    per_pair = Counter(head_identity(r) for r in records if r["kind"] != "plain")
    assert sum(1 for n in per_pair.values() if n >= 3) >= 100
    counts = sorted(r["count"] for r in records if "count" in r)
    assert counts[len(counts) // 2] <= 3 < counts[-1] // 10  # skewed: mostly small, a few large


def test_generator_uses_only_the_standard_library() -> None:
    tree = ast.parse((DEMO_DIR / "generate.py").read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    assert modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)
