"""The claim's cost does not grow with ties, leased or abandoned items, or the pool (issue 22).

The figures under load are benchmarks/annotation_load.py's ("queue rows read per claim"); these tests check the
plan's rows on a queue whose every item shares one priority, as before the first classifier.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation import sql
from annotation.models import Assignment, QueueItem
from annotation.services import assignment_next, leases, queue_fill
from tests.annotation.test_round_trips import _clone_candidates, _explained, _rows_read
from tests.factories import CandidateFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the claim's ranges are PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def _no_gold(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 0.0}
    monkeypatch.setattr(leases, "_sweep_due", lambda: False)


def _claim_statement(annotator: Any) -> str:
    """The claim statement this annotator's next claim runs (with its parameters), captured and rolled back."""
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        assert leases._claim(annotator, timezone.now()) is not None
        transaction.set_rollback(True)
    (claim,) = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("WITH top AS")]
    return claim


def _lease_in_bulk(candidates: list[int], annotator: Any, *, full: bool) -> None:
    """Leases of ``annotator`` on ``candidates`` as the claim leaves them (started; ``full``: no slot left, as
    abandoned leases of a team leave the top of the queue), written in bulk."""
    now = timezone.now()
    Assignment.objects.bulk_create(
        Assignment(candidate_id=pk, annotator=annotator, lease_expires_at=now + timezone.timedelta(minutes=10))
        for pk in candidates
    )
    update: dict[str, Any] = {"started": True, "in_flight": 1}
    if full:
        update["wanted"] = 1
    QueueItem.objects.filter(candidate_id__in=candidates).update(**update)


def test_leased_and_abandoned_items_at_the_top_of_a_tied_queue_cost_a_claim_nothing(make_user: Any) -> None:
    _clone_candidates(CandidateFactory(status="pooled"), 3_000)
    queue_fill()
    assert QueueItem.objects.values("priority").distinct().count() == 1  # one tied band
    ids = sorted(QueueItem.objects.values_list("candidate_id", flat=True))
    _lease_in_bulk(ids[:1_500], make_user("annotator", username="team"), full=True)  # the first half: no slot
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_queueitem, annotation_assignment")
    annotator = make_user("annotator")

    plan = _explained(_claim_statement(annotator))

    # the top priority, one fresh row where the claim enters the band, the slot taken and the version read by
    # key; the leased half of the queue is in none of the claim's indexes
    assert _rows_read(plan, ("annotation_queueitem",)) <= 6, plan
    # what walking the queue in priority order (the claim before issue 22, and SQLite's still) reads here
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + sql.CLAIM_PICK.format(seen="") + " FOR UPDATE OF q SKIP LOCKED",
            [False, annotator.pk],
        )
        walked = _rows_read(cursor.fetchone()[0][0]["Plan"], ("annotation_queueitem",))
    assert walked > 1_500


def test_a_lone_annotators_own_work_in_progress_costs_a_claim_at_most_one_capped_range(make_user: Any) -> None:
    """Candidates the annotator passed that want other annotators stay in the started range, which the claim
    reads first: it looks at CLAIM_RANGE_ROWS of them at most, then takes a fresh candidate."""
    _clone_candidates(CandidateFactory(status="pooled"), 1_000)
    queue_fill()
    annotator = make_user("annotator")
    ids = sorted(QueueItem.objects.values_list("candidate_id", flat=True))
    _lease_in_bulk(ids[:300], annotator, full=False)
    Assignment.objects.filter(annotator=annotator).update(status="done")
    QueueItem.objects.filter(candidate_id__in=ids[:300]).update(in_flight=0)  # each wants another annotator
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_queueitem, annotation_assignment")

    plan = _explained(_claim_statement(annotator))

    # the capped started range, its rows looked up by key, then one fresh row; not the 300 in progress
    assert _rows_read(plan, ("annotation_queueitem",)) <= 2 * sql.CLAIM_RANGE_ROWS + 6, plan
    claim = leases._claim(annotator, timezone.now())
    assert claim is not None and claim.assignment.candidate_id not in ids[:300]


def test_a_claim_finishes_the_work_in_progress_before_taking_a_fresh_candidate(make_user: Any) -> None:
    for _ in range(30):
        CandidateFactory(status="pooled")
    queue_fill()
    first = assignment_next(annotator=make_user("annotator", username="first"))
    assert first is not None

    second = assignment_next(annotator=make_user("annotator", username="second"))

    # the candidate the first annotator holds still wants a second annotator: it comes before 29 fresh ones
    assert second is not None and second.assignment.candidate_id == first.assignment.candidate_id
    third = assignment_next(annotator=make_user("annotator", username="third"))
    assert third is not None and third.assignment.candidate_id != first.assignment.candidate_id  # no slot left


def test_claims_on_a_tied_band_enter_it_at_different_points(make_user: Any, settings: Any) -> None:
    """Fresh candidates of one priority are taken from a random point of their hashed tiebreak, not in id order,
    so annotators claiming at once do not queue behind the same rows."""
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "MIN_ANSWERS": 1}  # each claim a fresh candidate
    _clone_candidates(CandidateFactory(status="pooled"), 2_000)
    queue_fill()
    taken = []
    for number in range(10):
        with transaction.atomic():
            claim = leases._claim(make_user("annotator", username=f"a{number}"), timezone.now())
            assert claim is not None
            taken.append(claim.assignment.candidate_id)
    ids = sorted(QueueItem.objects.values_list("candidate_id", flat=True))
    assert len(set(taken)) == 10
    assert max(taken) - min(taken) > 200  # ten claims in id order would take ten neighbours
    assert set(taken) != set(ids[:10])


def test_work_in_progress_comes_first_even_when_recomputed_priorities_sink_it_below_fresh_candidates(
    make_user: Any,
) -> None:
    """A recomputation that puts fresh candidates above the started ones must not leave the team starting new
    candidates while the started ones wait (issue 21's loop spread 3 annotators over the whole pool that way)."""
    for _ in range(20):
        CandidateFactory(status="pooled")
    queue_fill()
    first = assignment_next(annotator=make_user("annotator", username="first"))
    assert first is not None
    started = first.assignment.candidate_id
    QueueItem.objects.filter(candidate_id=started).update(priority=1.0)
    QueueItem.objects.exclude(candidate_id=started).update(priority=100.0)  # every fresh one now ranks higher

    second = assignment_next(annotator=make_user("annotator", username="second"))

    assert second is not None and second.assignment.candidate_id == started


def test_a_claim_never_answers_nothing_while_work_in_progress_past_the_first_range_is_open_to_it(
    make_user: Any,
) -> None:
    """More than CLAIM_RANGE_ROWS started items that the annotator already had, above one it did not have, and
    no fresh candidate left: the claim still finds that one (the last range reads past the cap)."""
    _clone_candidates(CandidateFactory(status="pooled"), 3 * sql.CLAIM_RANGE_ROWS)
    queue_fill()
    annotator = make_user("annotator")
    other = make_user("annotator", username="other")
    ids = sorted(QueueItem.objects.values_list("candidate_id", flat=True))
    had, open_to_it = ids[:-1], ids[-1]
    _lease_in_bulk(had, annotator, full=False)
    _lease_in_bulk([open_to_it], other, full=False)
    Assignment.objects.update(status="done")
    QueueItem.objects.update(in_flight=0, wanted=2)  # every item wants one more annotator
    QueueItem.objects.filter(candidate_id__in=had).update(priority=10.0)
    QueueItem.objects.filter(candidate_id=open_to_it).update(priority=0.0)  # below all the annotator had

    with transaction.atomic():
        claim = leases._claim(annotator, timezone.now())

    assert claim is not None and claim.assignment.candidate_id == open_to_it
