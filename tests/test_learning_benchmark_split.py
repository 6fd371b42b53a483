"""The learning benchmark's split (benchmarks/learning.py): any labelled ingest file, of any kind, is held out by
group, as the platform groups its folds, so no behaviour pair or plain head is on both sides."""

from __future__ import annotations

from typing import Any

from benchmarks.learning import group_of, split, truth_known, truth_of
from benchmarks.learning_data import generate


def _sides(lines: list[dict[str, Any]], held_out: float = 0.3, seed: int = 5) -> tuple[set[Any], set[Any]]:
    queued, held = split(lines, held_out, seed)
    assert len(queued) + len(held) == len(lines) and held and queued
    return {group_of(line) for line in queued}, {group_of(line) for line in held}


def test_every_kind_is_split_by_its_group_and_no_group_is_on_both_sides() -> None:
    lines: list[dict[str, Any]] = []
    for number in range(300):
        lines.append({"kind": "plain", "head": f"PersonX  Pays {number % 40}", "relation": "r", "tail": f"t{number}"})
        lines.append({"head": f"personx pays {number % 40}", "relation": "r", "tail": f"u{number}"})  # kind by default
        lines.append(
            {"query": f"Boots {number % 30}", "product": {"id": f"P{number % 7}"}, "relation": "r", "tail": "t"}
        )
        first, second = {"id": f"A{number % 11}"}, {"id": f"B{number % 5}"}
        lines.append({"product": first, "other_product": second, "relation": "r", "tail": "t"})
        lines.append({"kind": "co_buy", "product": second, "other_product": first, "relation": "r", "tail": "u"})
    queued, held = _sides(lines)
    assert not queued & held
    # A head differs only in case and spacing, a co-purchase only in the order of its products: one group each.
    assert group_of(lines[0]) == group_of(lines[1]) == ("plain", "personx pays 0")
    assert group_of(lines[3]) == group_of(lines[4])
    assert {group[0] for group in queued | held} == {"plain", "search_buy", "co_buy"}


def test_the_generated_sets_split_is_the_one_its_published_figures_used() -> None:
    """The generated set is search_buy only, with normalised queries: grouping by kind and normalised text gives
    the same split as the earlier (query, product) pairs, so the figures in docs/classifiers.md still apply."""
    import random

    lines = generate(candidates=600, seed=21)
    pairs = sorted({(line["query"], line["product"]["id"]) for line in lines})
    random.Random(21).shuffle(pairs)
    out = set(pairs[: int(len(pairs) * 0.3)])
    queued, _held = split(lines, 0.3, 21)
    assert queued == [line for line in lines if (line["query"], line["product"]["id"]) not in out]


def test_only_labels_that_decide_the_target_are_scored() -> None:
    assert truth_known({"plausible": True}, "plausible") and truth_of({"plausible": True}, "plausible")
    assert truth_known({"relevant": False}, "plausible") and not truth_of({"relevant": False}, "plausible")
    assert not truth_known({"complete": True}, "plausible")  # gates passed, the target unknown
    assert not truth_known({}, "typical")
    assert truth_known({"plausible": False}, "typical") and not truth_of({"plausible": False}, "typical")
