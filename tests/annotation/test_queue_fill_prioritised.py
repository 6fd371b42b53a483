"""The hand-off's fill writes each new queue item once, with the priority that a fill at 0 followed by the
recomputation gives it (issue 22: the recomputation rewrote a million rows right after they were inserted)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import QueueItem
from annotation.services import queue_fill, queue_fill_prioritised, queue_priorities_recompute
from knowledge.models import Relation
from tests.factories import CandidateFactory, SearchBuyPairFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def _pool(count: int) -> None:
    relations = list(Relation.objects.order_by("slug")[:3])
    pairs = [SearchBuyPairFactory(observation_count=1 + n) for n in range(6)]
    for number in range(count):
        CandidateFactory(
            status="pooled",
            relation=relations[number % len(relations)],
            pair=pairs[number % len(pairs)],
            support_count=1 + number % 4,
            known_labels={"plausible": True} if number % 10 == 0 else {},
        )


def _queue() -> dict[int, tuple[float, bool]]:
    return {
        pk: (priority, gold)
        for pk, priority, gold in QueueItem.objects.values_list("candidate_id", "priority", "is_gold")
    }


def test_the_fill_with_priorities_gives_what_the_fill_and_the_recomputation_give() -> None:
    _pool(40)
    queue_fill()
    queue_priorities_recompute(seed=3)
    expected = _queue()
    QueueItem.objects.all().delete()

    with CaptureQueriesContext(connection) as captured:
        added, prioritised = queue_fill_prioritised(seed=3)

    assert (added, prioritised) == (40, 40)
    assert _queue() == expected
    assert len({priority for priority, _gold in expected.values()}) == 40  # distinct positions, none left at 0
    assert sum(gold for _priority, gold in expected.values()) == 4  # the known-label candidates became gold
    assert not [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE annotation_queueitem")]


def test_the_fill_with_priorities_orders_new_candidates_with_the_open_items_and_rewrites_only_those() -> None:
    _pool(30)
    queue_fill()
    queue_priorities_recompute(seed=5)
    _pool(10)  # pooled since
    added, prioritised = queue_fill_prioritised(seed=5)
    reference = _queue()
    QueueItem.objects.all().delete()
    queue_fill()
    queue_priorities_recompute(seed=5)

    assert (added, prioritised) == (10, 40)
    assert reference == _queue()


def test_the_hand_off_after_a_filter_run_queues_with_priorities(settings: Any) -> None:
    from pipeline.handoffs import queue_after_filter

    settings.PLAUSI_PIPELINE = {**settings.PLAUSI_PIPELINE, "queue_after_filter": True}
    _pool(12)
    assert queue_after_filter(event_id=0) == (12, 12)
    assert len(set(QueueItem.objects.values_list("priority", flat=True))) == 12


def test_an_empty_queue_and_pool_recompute_and_fill_nothing_without_an_error() -> None:
    assert queue_priorities_recompute() == 0
    assert queue_fill_prioritised() == (0, 0)
    _pool(4)
    assert queue_fill_prioritised() == (4, 4)
    QueueItem.objects.update(state="closed")
    assert queue_priorities_recompute() == 0  # nothing open: nothing to order


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path is PostgreSQL's")
def test_a_first_fill_in_bulk_gives_the_same_queue_and_builds_the_priority_indexes_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first fill of at least ``BULK_MIN_ROWS`` items drops the queue's priority indexes, inserts in candidate
    order and builds them again (core/foreign_keys.py): the queue and the indexes are what the row-by-row fill
    gives."""
    from core import foreign_keys

    def indexes() -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'annotation_queueitem' ORDER BY 1"
            )
            return list(cursor.fetchall())

    _pool(40)
    before = indexes()
    queue_fill_prioritised(seed=3)
    expected = _queue()
    QueueItem.objects.all().delete()
    monkeypatch.setattr(foreign_keys, "BULK_MIN_ROWS", 10)

    with CaptureQueriesContext(connection) as captured:
        assert queue_fill_prioritised(seed=3) == (40, 40)

    statements = [q["sql"] for q in captured.captured_queries]
    assert any(s.startswith("DROP INDEX") and "queue_fresh" in s for s in statements)  # the bulk path ran
    assert any(s.startswith("CREATE INDEX queue_fresh") for s in statements)
    assert _queue() == expected
    assert indexes() == before
    assert len(before) >= 5


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_plain_candidates_are_spread_over_their_heads_as_search_candidates_over_their_pairs(
    settings: Any, seed: int
) -> None:
    """A plain candidate has no behaviour pair; its head text stands for one (as in the classifiers' grouped
    folds), so a head of six tails gives its second only after the other head gave its first."""
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "RANDOM_SHARE": 0.0}
    busy, quiet = "personx pays personz a compliment", "personx goes to the mall"
    for number in range(8):
        head = quiet if number in (2, 5) else busy
        CandidateFactory(status="pooled", head_kind="plain", pair=None, head_text=head)
    queue_fill_prioritised(seed=seed)
    order = list(QueueItem.objects.order_by("-priority").values_list("candidate__head_text", flat=True))
    assert sorted(order[:2]) == sorted(order[2:4]) == sorted([busy, quiet]), order
    assert order[4:] == [busy] * 4
    # The recomputation groups them the same way.
    queue_priorities_recompute(seed=seed + 10)
    order = list(QueueItem.objects.order_by("-priority").values_list("candidate__head_text", flat=True))
    assert sorted(order[:2]) == sorted([busy, quiet]) and order[4:] == [busy] * 4, order
