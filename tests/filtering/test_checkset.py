"""The hand-labelled filter check set: the loader, its validation, and the coverage the set promises. No database."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from filtering.checkset import (
    DEFAULT_PATH,
    DEFECTS,
    RELATIONS,
    CheckItem,
    CheckSetError,
    load_checkset,
    normalize_text,
)

GENERIC_MIN_HEADS = 6
GENERIC_MIN_CATEGORIES = 4

GOOD_LINE = {
    "kind": "search_buy",
    "query": "winter boots for pregnant women",
    "product": {"id": "SH0001", "title": "Slip-resistant ankle boot", "category": "Shoes"},
    "relation": "capable_of",
    "tail": "grip icy sidewalks",
    "expected": "good",
    "defect": "good",
}


@pytest.fixture(scope="module")
def items() -> list[CheckItem]:
    return load_checkset()


def _spread(items: list[CheckItem]) -> dict[str, tuple[set[str], set[str]]]:
    """Normalised tail -> (heads it occurs with, categories of those heads)."""
    spread: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for item in items:
        heads, categories = spread[item.tail_norm]
        heads.add(item.head_key)
        categories.update(item.categories)
    return spread


def test_loads_the_shipped_file(items: list[CheckItem]) -> None:
    assert 300 <= len(items) <= 400
    assert load_checkset(DEFAULT_PATH) == items
    assert [item.line for item in items] == list(range(1, len(items) + 1))
    assert {item.kind for item in items} == {"search_buy", "co_buy", "plain"}
    first = items[0]
    assert first.head == f"{first.query} | {first.product_title}"
    assert first.to_ingest_record()["product"]["id"] == first.product_id


def test_labels_are_balanced_and_every_defect_is_well_represented(items: list[CheckItem]) -> None:
    defects = Counter(item.defect for item in items)
    assert set(defects) == set(DEFECTS)
    for defect in DEFECTS:
        assert defects[defect] >= 20, defect
    good_share = defects["good"] / len(items)
    assert 0.40 <= good_share <= 0.50
    assert all((item.expected == "good") == (item.defect == "good") for item in items)


def test_covers_categories_and_relations(items: list[CheckItem]) -> None:
    categories = {category for item in items for category in item.categories}
    assert len(categories) >= 8
    relations = {item.relation for item in items}
    assert len(relations) >= 12
    assert relations <= set(RELATIONS)
    good_relations = {item.relation for item in items if item.is_good}
    assert len(good_relations) >= 12


def test_no_duplicate_candidates(items: list[CheckItem]) -> None:
    exact = Counter((item.head, item.relation, item.tail) for item in items)
    assert [key for key, count in exact.items() if count > 1] == []
    normalised = Counter((item.head_key, item.relation, item.tail_norm) for item in items)
    assert [key for key, count in normalised.items() if count > 1] == []


def test_generic_tails_are_spread_over_many_heads_and_categories(items: list[CheckItem]) -> None:
    spread = _spread(items)
    generic = {item.tail_norm for item in items if item.defect == "generic"}
    assert 6 <= len(generic) <= 8
    for tail in generic:
        heads, categories = spread[tail]
        assert len(heads) >= GENERIC_MIN_HEADS, tail
        assert len(categories) >= GENERIC_MIN_CATEGORIES, tail
    # A generic phrase is bad wherever it occurs.
    assert [item.line for item in items if item.tail_norm in generic and item.defect != "generic"] == []


def test_repeated_good_tails_stay_below_the_generic_spread(items: list[CheckItem]) -> None:
    spread = _spread(items)
    good = {item.tail_norm for item in items if item.is_good}
    repeated = [tail for tail in good if len(spread[tail][0]) > 1]
    assert repeated, "the set should hold good tails that legitimately repeat"
    for tail in good:
        heads, categories = spread[tail]
        assert len(heads) < GENERIC_MIN_HEADS or len(categories) < GENERIC_MIN_CATEGORIES, tail
    assert [item.line for item in items if item.tail_norm in good and not item.is_good] == []


def test_contact_details_are_only_reserved_examples(items: list[CheckItem]) -> None:
    text = "\n".join(item.tail for item in items)
    emails = re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
    assert emails
    assert all(email.endswith("@example.com") for email in emails), emails
    phones = re.findall(r"\b\d{3}[-. ]\d{4}\b", text)
    assert phones
    assert all(re.fullmatch(r"555[-. ]01\d\d", phone) for phone in phones), phones


def _write(tmp_path: Path, *records: object) -> Path:
    path = tmp_path / "checkset.jsonl"
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _with(**changes: object) -> dict[str, object]:
    record = json.loads(json.dumps(GOOD_LINE))
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ('{"kind": "search_buy", "query": ', "(line)"),
        ("[1, 2, 3]", "(line)"),
        (_with(colour="red"), "colour"),
        (_with(kind="search"), "kind"),
        (_with(relation="used_for_fun"), "relation"),
        (_with(tail="   "), "tail"),
        (_with(tail="... !?"), "tail"),
        (_with(tail=7), "tail"),
        (_with(expected="maybe"), "expected"),
        (_with(defect="rude"), "defect"),
        (_with(defect="echo_query"), "defect"),
        (_with(query=None), "query"),
        (_with(head="yoga mat"), "head"),
        (_with(product={"title": "Slip-resistant ankle boot", "category": "Shoes"}), "product.id"),
        (_with(product={"id": "SH0001", "title": "Other boot", "category": "Shoes"}), "product.id"),
        (_with(kind="co_buy", query=None), "other_product"),
        (_with(kind="plain", query=None, product=None), "head"),
    ],
)
def test_a_malformed_line_names_the_line_and_field(tmp_path: Path, bad_line: object, field: str) -> None:
    path = _write(tmp_path, GOOD_LINE, "", bad_line, GOOD_LINE)
    with pytest.raises(ValueError, match=rf"line 3: field {re.escape(repr(field))}") as caught:
        load_checkset(path)
    assert isinstance(caught.value, CheckSetError)
    assert (caught.value.line, caught.value.field) == (3, field)


def test_a_minimal_valid_file_loads(tmp_path: Path) -> None:
    co_buy = {
        "kind": "co_buy",
        "product": {"id": "OC0001", "title": "Camping tent for 4 people", "category": "Outdoors & Camping"},
        "other_product": {"id": "OC0002", "title": "Inflatable sleeping pad", "category": "Outdoors & Camping"},
        "relation": "used_for_event",
        "tail": "a family camping trip",
        "expected": "good",
        "defect": "good",
    }
    plain = {"kind": "plain", "head": "yoga mat", "relation": "used_to", "tail": "stretch", "expected": "good"}
    plain["defect"] = "good"
    loaded = load_checkset(_write(tmp_path, GOOD_LINE, co_buy, plain))
    assert [item.kind for item in loaded] == ["search_buy", "co_buy", "plain"]
    assert loaded[1].head == "Camping tent for 4 people | Inflatable sleeping pad"
    assert loaded[1].categories == ("Outdoors & Camping", "Outdoors & Camping")
    assert loaded[2].head_text == "yoga mat"
    assert loaded[2].titles == ()
    assert normalize_text("  Grip  ICY sidewalks. ") == "grip icy sidewalks"
