"""Statements read as English for every seeded relation, kind of head and shape of tail.

The grammar rules checked (docs/annotation.md, "Statements"):

1. no bare verb right after "wants", "want", "intends" or "needs" ("wants keep", "wants go"; a word that is as
   often a noun, like "water" in "wants water bottles", is not a bare verb);
2. no "to to", no "for to", no "is/are used for <bare verb>";
3. no double spaces, no double periods, no space before the period;
4. the head appears once: the product titles (or the plain head) exactly once, the query at most once;
5. the sentence starts with a capital letter and ends with exactly one period;
6. no placeholder is left unfilled.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from knowledge.sentences import (
    NOUN_VERBS,
    VERBS,
    behaviour_phrase,
    categories_distinct,
    gerund_of,
    statement_render,
    tail_clean,
    tail_forms,
)

TAILS = [
    "keep the hedges tidy",
    "to go camping for the first time",
    "go camping",
    "Keep warm in winter.",
    "grip icy sidewalks",
    "a tent",
    "hiking in the rain",
    "going camping",
    "pregnant women",
    "the kitchen",
    "feet",
    "water the plants",
    "water bottles",
    "in order to stay dry",
    "for camping",
    "to the beach",
    "  spaces   inside  ",
    '"quoted tail"',
    "ends with dots...",
    "USB cables",
    "iPhone accessories",
    "Clothing",
    "run",
    "a Christmas party",
    "prune the roses",
    "toys the kids love",
]
HEADS = {
    "search_buy": {"query": "winter boots for pregnant women", "product": "Greenreach Bypass Pruning Shears"},
    "co_buy": {"product": "Trailblazer 2-Person Tent", "other_product": "Summit Down Sleeping Bag"},
    "plain": {"head_text": "yoga mat"},
}
_BARE_AFTER_WANT = re.compile(r"\b(wants|want|intends|needs)\s+(\w+)", re.IGNORECASE)
_ONLY_VERBS = VERBS - NOUN_VERBS
_USED_FOR = re.compile(r"\bused (?:together )?for\s+(\w+)", re.IGNORECASE)


def grammar_problems(sentence: str, *, names: list[str], optional: tuple[str, ...] = ()) -> list[str]:
    """The rules of the module docstring that ``sentence`` breaks."""
    problems = []
    for match in _BARE_AFTER_WANT.finditer(sentence):
        if match.group(2).lower() in _ONLY_VERBS:
            problems.append(f"bare verb after {match.group(1)!r}: {match.group(2)!r}")
    for match in _USED_FOR.finditer(sentence):
        if match.group(1).lower() in _ONLY_VERBS:
            problems.append(f"bare verb after 'used for': {match.group(1)!r}")
    lowered = sentence.lower()
    for bad in ("to to ", "for to ", "  ", "..", " ."):
        if bad in lowered:
            problems.append(f"contains {bad!r}")
    if not sentence[:1].isupper():
        problems.append("does not start with a capital")
    if not sentence.endswith(".") or sentence.endswith(".."):
        problems.append("does not end with exactly one period")
    if re.search(r"\{\w+\}", sentence):
        problems.append("a placeholder is left")
    for name in names:
        count = lowered.count(name.lower())
        if count != 1 and not (name in optional and count == 0):
            problems.append(f"{name!r} appears {count} times")
    return problems


@pytest.mark.django_db
def test_every_seeded_relation_reads_grammatically_for_every_kind_of_head_and_tail() -> None:
    from knowledge.models import Relation
    from knowledge.selectors import relation_statement_template

    relations = list(Relation.objects.prefetch_related("sentences"))
    assert len(relations) == 15
    failures: list[str] = []
    for relation in relations:
        assert {s.behaviour_kind for s in relation.sentences.all()} == {"search_buy", "co_buy", "plain"}
        for kind, head in HEADS.items():
            template = relation_statement_template(relation, kind)
            names = list(head.values())
            for tail in TAILS:
                sentence = statement_render(template=template, head_kind=kind, tail=tail, **head)
                problems = grammar_problems(sentence, names=names, optional=(head.get("query", ""),))
                failures += [f"{relation.slug}/{kind}/{tail!r}: {p}: {sentence}" for p in problems]
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_the_issue_examples_read_well() -> None:
    from knowledge.models import Relation
    from knowledge.selectors import relation_statement_template

    x_want = Relation.objects.get(slug="x_want")
    shears = {"query": "pruning shears", "product": "Greenreach Bypass Pruning Shears"}
    render: Any = lambda kind, tail, **head: statement_render(  # noqa: E731
        template=relation_statement_template(x_want, kind), head_kind=kind, tail=tail, **head
    )
    assert (
        render("search_buy", "keep the hedges tidy", **shears)
        == "Someone who searches for ‘pruning shears’ and buys Greenreach Bypass Pruning Shears wants to keep the "
        "hedges tidy."
    )
    tent = {"product": "Trailblazer Tent", "other_product": "Summit Sleeping Bag"}
    assert (
        render("co_buy", "go camping for the first time", **tent)
        == "Someone who buys Trailblazer Tent together with Summit Sleeping Bag wants to go camping for the first time."
    )
    capable = Relation.objects.get(slug="capable_of")
    assert (
        statement_render(
            template=relation_statement_template(capable, "search_buy"),
            head_kind="search_buy",
            tail="grip icy sidewalks",
            query="winter boots for pregnant women",
            product="Ankle boot",
        )
        == "Ankle boot is capable of gripping icy sidewalks."
    )


@pytest.mark.django_db
def test_a_relation_without_a_template_for_a_kind_falls_back_to_its_sentence_template() -> None:
    from knowledge.models import Relation
    from knowledge.selectors import relation_statement_template

    relation = Relation.objects.create(slug="smells_of", label="Smells of", sentence_template="{head} smells of {tail}")
    assert relation_statement_template(relation, "co_buy") == "{head} smells of {tail}"
    sentence = statement_render(
        template="{head} smells of {tail}", head_kind="co_buy", tail="pine.", product="Candle", other_product="Lamp"
    )
    assert sentence == "Candle smells of pine."


@pytest.mark.parametrize(
    ("tail", "to_tail", "for_tail", "noun"),
    [
        ("keep the hedges tidy", "to keep the hedges tidy", "to keep the hedges tidy", "keeping the hedges tidy"),
        ("to go camping", "to go camping", "to go camping", "going camping"),
        ("a tent", "a tent", "for a tent", "a tent"),
        ("going camping", "to go camping", "for going camping", "going camping"),
        ("hiking in the rain", "to hike in the rain", "for hiking in the rain", "hiking in the rain"),
        ("water bottles", "water bottles", "for water bottles", "water bottles"),
        ("water the plants", "to water the plants", "to water the plants", "watering the plants"),
        ("Clothing", "Clothing", "for Clothing", "Clothing"),
        ("clothing", "clothing", "for clothing", "clothing"),
        ("in order to stay dry", "to stay dry", "to stay dry", "staying dry"),
        ("to the beach", "the beach", "for the beach", "the beach"),
        ("run", "to run", "to run", "running"),
        # a verb of no list, read as one because a determiner follows it; a plural before one stays a noun
        ("prune the roses", "to prune the roses", "to prune the roses", "pruning the roses"),
        ("declutter my garage", "to declutter my garage", "to declutter my garage", "decluttering my garage"),
        ("toys the kids love", "toys the kids love", "for toys the kids love", "toys the kids love"),
        ("early the next day", "early the next day", "for early the next day", "early the next day"),
    ],
)
def test_tail_forms_follow_the_shape_of_the_tail(tail: str, to_tail: str, for_tail: str, noun: str) -> None:
    forms = tail_forms(tail)
    assert (forms["to_tail"], forms["for_tail"], forms["tail_noun"]) == (to_tail, for_tail, noun)


def test_gerunds_double_drop_or_add_as_english_does() -> None:
    assert [gerund_of(v) for v in ("keep", "make", "run", "tie", "see", "grip", "go")] == [
        "keeping",
        "making",
        "running",
        "tying",
        "seeing",
        "gripping",
        "going",
    ]


def test_a_tail_is_cleaned_of_quotes_spaces_and_final_punctuation() -> None:
    assert tail_clean('  "Keep   warm!"  ') == "keep warm"
    assert tail_clean("USB cables.") == "USB cables"


def test_a_title_starting_in_lowercase_capitals_stays_as_it_is_and_braces_are_not_filled() -> None:
    sentence = statement_render(
        template="{head} is used for {tail_noun}", head_kind="plain", tail="{x}", head_text="iPad"
    )
    assert sentence == "iPad is used for {x}."
    sentence = statement_render(
        template="{product} is used for {tail_noun}", head_kind="search_buy", tail="grip {tail}", product="Boot {tail}"
    )
    assert sentence == "Boot {tail} is used for gripping {tail}."


def test_a_co_buy_within_one_category_lists_it_once() -> None:
    assert categories_distinct(["Outdoors & Camping", "Outdoors & Camping"]) == ["Outdoors & Camping"]
    assert categories_distinct(["Shoes", "Socks"]) == ["Shoes", "Socks"]


def test_the_behaviour_phrase_never_mentions_a_search_for_a_co_buy() -> None:
    assert "search" not in behaviour_phrase("co_buy") and "search" in behaviour_phrase("search_buy")
