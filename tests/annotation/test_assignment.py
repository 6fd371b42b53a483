"""Assignment, gating, adaptive overlap, leases, idempotency, skip and undo, against PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.models import Answer, Assignment, ConsolidatedLabel, QueueItem
from annotation.services import (
    answer_submit,
    answer_undo,
    assignment_next,
    assignment_skip,
    queue_fill,
)
from core.errors import Conflict, NotAllowed
from knowledge.models import Candidate
from tests.factories import CandidateFactory, UserFactory

QUESTIONS = ["complete", "relevant", "informative", "plausible", "typical"]


def pooled(n: int = 1) -> list[Candidate]:
    candidates = CandidateFactory.create_batch(n, status="pooled")
    queue_fill()
    return candidates


def answer(user: Any, value: bool, *, key: str | None = None) -> Any:
    step = assignment_next(annotator=user)
    assert step is not None
    return answer_submit(
        annotator=user,
        assignment_id=step.assignment.pk,
        question_slug=step.question.slug,
        value=value,
        idempotency_key=key or uuid.uuid4().hex,
    )


def labels(candidate: Candidate) -> dict[str, bool | None]:
    return {
        label.question.slug: label.value
        for label in ConsolidatedLabel.objects.filter(candidate=candidate).select_related("question")
    }


pytestmark = pytest.mark.django_db


def test_two_agreeing_annotators_label_a_candidate_and_a_third_gets_nothing() -> None:
    (candidate,) = pooled()
    first, second, third = (UserFactory(role="annotator") for _ in range(3))
    for user in (first, second):
        for slug in QUESTIONS:
            step = assignment_next(annotator=user)
            assert step is not None and step.question.slug == slug and step.assignment.candidate_id == candidate.pk
            answer_submit(
                annotator=user,
                assignment_id=step.assignment.pk,
                question_slug=slug,
                value=True,
                idempotency_key=uuid.uuid4().hex,
            )
    candidate.refresh_from_db()
    assert candidate.status == "labelled"
    assert labels(candidate) == dict.fromkeys(QUESTIONS, True)
    assert QueueItem.objects.get(candidate=candidate).state == "closed"
    assert assignment_next(annotator=third) is None


@pytest.mark.usefixtures("no_gates")
def test_a_consolidated_no_stops_the_candidate_and_later_questions_are_never_asked() -> None:
    (candidate,) = pooled()
    first, second = UserFactory(role="annotator"), UserFactory(role="annotator")
    answer(first, False)
    answer(second, False)
    candidate.refresh_from_db()
    assert candidate.status == "labelled"
    assert labels(candidate) == {"complete": False}
    assert Answer.objects.count() == 2


@pytest.mark.usefixtures("no_gates")
def test_a_disagreement_asks_a_third_annotator_who_starts_at_that_question_and_walks_on() -> None:
    (candidate,) = pooled()
    ann, bob, cat, dan = (UserFactory(role="annotator") for _ in range(4))
    answer(ann, True)  # complete: yes
    answer(ann, True)  # relevant: yes
    answer(ann, False)  # informative: no -> ann's pass ends
    answer(bob, False)  # complete: no -> disagreement on complete
    item = QueueItem.objects.get(candidate=candidate)
    assert (item.state, item.wanted, item.in_flight) == ("open", 1, 0)
    step = assignment_next(annotator=cat)
    assert step is not None and step.question.slug == "complete"
    answer_submit(
        annotator=cat, assignment_id=step.assignment.pk, question_slug="complete", value=True, idempotency_key="c1"
    )
    assert labels(candidate)["complete"] is True  # 2 yes : 1 no
    step = assignment_next(annotator=cat)  # complete is settled; relevant has one answer: cat walks on
    assert step is not None and step.question.slug == "relevant"
    answer(cat, True)
    answer(cat, False)  # informative: no, agreeing with ann -> settled no, candidate closed
    candidate.refresh_from_db()
    assert candidate.status == "labelled"
    assert labels(candidate) == {"complete": True, "relevant": True, "informative": False}
    assert assignment_next(annotator=dan) is None


def test_an_annotator_never_gets_the_same_candidate_twice() -> None:
    pooled(3)
    user = UserFactory(role="annotator")
    seen = []
    while (step := assignment_next(annotator=user)) is not None:
        seen.append(step.assignment.candidate_id)
        answer_submit(
            annotator=user,
            assignment_id=step.assignment.pk,
            question_slug=step.question.slug,
            value=False,
            idempotency_key=uuid.uuid4().hex,
        )
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 3


def test_a_lapsed_lease_gives_its_slot_back() -> None:
    (candidate,) = pooled()
    ann, bob, cat = (UserFactory(role="annotator") for _ in range(3))
    assignment_next(annotator=ann)
    assignment_next(annotator=bob)
    assert assignment_next(annotator=cat) is None  # two leases in flight = the overlap target
    Assignment.objects.filter(annotator=ann).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    step = assignment_next(annotator=cat)
    assert step is not None and step.assignment.candidate_id == candidate.pk
    assert Assignment.objects.get(annotator=ann).status == "expired"


def test_a_retried_submit_with_the_same_key_is_stored_once() -> None:
    pooled(2)
    user = UserFactory(role="annotator")
    step = assignment_next(annotator=user)
    assert step is not None
    kwargs = {
        "annotator": user,
        "assignment_id": step.assignment.pk,
        "question_slug": "complete",
        "value": True,
        "idempotency_key": "same-key",
    }
    first = answer_submit(**kwargs)
    again = answer_submit(**kwargs)
    assert first.created and not again.created and first.answer_id == again.answer_id
    assert Answer.objects.count() == 1
    with pytest.raises(Conflict):
        answer_submit(**{**kwargs, "value": False})
    # The key once more, for another lease whose question is open: refused, and that lease is left as it was
    # (the answer path does not look the key up first; the insert meets it and the whole transaction rolls back).
    assert first.prefetch is not None
    other = first.prefetch.assignment.pk
    with pytest.raises(Conflict, match="already used for another answer"):
        answer_submit(**{**kwargs, "assignment_id": other})
    assert Answer.objects.count() == 1 and not Answer.objects.filter(assignment_id=other).exists()
    assert Assignment.objects.get(pk=other).status == "leased"
    assert answer_submit(**{**kwargs, "assignment_id": other, "idempotency_key": "new-key"}).created


def test_nobody_can_answer_another_annotators_lease() -> None:
    pooled()
    owner, intruder = UserFactory(role="annotator"), UserFactory(role="annotator")
    step = assignment_next(annotator=owner)
    assert step is not None
    with pytest.raises(NotAllowed):
        answer_submit(
            annotator=intruder,
            assignment_id=step.assignment.pk,
            question_slug="complete",
            value=True,
            idempotency_key="x",
        )


def test_skip_gives_the_candidate_to_someone_else_and_never_back() -> None:
    (candidate,) = pooled()
    ann, bob, cat = (UserFactory(role="annotator") for _ in range(3))
    step = assignment_next(annotator=ann)
    assert step is not None
    assignment_next(annotator=bob)
    assert assignment_skip(annotator=ann, assignment_id=step.assignment.pk) is None
    step_cat = assignment_next(annotator=cat)
    assert step_cat is not None and step_cat.assignment.candidate_id == candidate.pk
    assert assignment_next(annotator=ann) is None


@pytest.mark.usefixtures("no_gates")
def test_undo_takes_back_the_last_answer_and_asks_it_again() -> None:
    (candidate,) = pooled()
    ann, bob = UserFactory(role="annotator"), UserFactory(role="annotator")
    answer(ann, False)
    answer(bob, False)
    candidate.refresh_from_db()
    assert candidate.status == "labelled"
    step = answer_undo(annotator=bob)
    assert step is not None and step.question.slug == "complete" and step.assignment.candidate_id == candidate.pk
    candidate.refresh_from_db()
    assert candidate.status == "in_annotation" and labels(candidate) == {"complete": None}  # one No: undecided
    assert ConsolidatedLabel.objects.get(candidate=candidate).no == 1
    answer_submit(
        annotator=bob, assignment_id=step.assignment.pk, question_slug="complete", value=False, idempotency_key="again"
    )
    candidate.refresh_from_db()
    assert candidate.status == "labelled"


def test_undo_is_refused_after_the_window() -> None:
    pooled()
    user = UserFactory(role="annotator")
    answer(user, True)
    Answer.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    with pytest.raises(Conflict, match="undo"):
        answer_undo(annotator=user)


def test_higher_priority_candidates_are_asked_first() -> None:
    _low, high = pooled(2)
    QueueItem.objects.filter(candidate=high).update(priority=5.0)
    step = assignment_next(annotator=UserFactory(role="annotator"))
    assert step is not None and step.assignment.candidate_id == high.pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("no_gates")
def test_concurrent_annotators_never_exceed_the_overlap_or_share_a_slot() -> None:
    pooled(20)
    users = [UserFactory(role="annotator") for _ in range(12)]
    leases: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(users))

    def work(user: Any) -> None:
        try:
            barrier.wait()
            for _ in range(4):
                step = assignment_next(annotator=user)
                if step is None:
                    return
                leases.append((user.pk, step.assignment.candidate_id))
                answer_submit(
                    annotator=user,
                    assignment_id=step.assignment.pk,
                    question_slug=step.question.slug,
                    value=False,
                    idempotency_key=uuid.uuid4().hex,
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(leases) == len(set(leases))  # no annotator saw a candidate twice
    per_candidate = Counter(candidate_id for _user, candidate_id in leases)
    assert max(per_candidate.values()) <= 2  # two unanimous No answers settle each candidate
    assert Answer.objects.count() == len(leases)
    assert Candidate.objects.filter(status="labelled").count() == sum(1 for n in per_candidate.values() if n == 2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_racing_its_first_attempt_gets_the_stored_answer_not_a_conflict() -> None:
    """A client whose response was lost retries at once; both submits arrive together. The one that waits for the
    lease lock must see the answer the other stored (here a No that ends the pass), never a 409."""
    pooled(12)
    user = UserFactory(role="annotator")
    outcomes: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    for _round in range(12):
        step = assignment_next(annotator=user)
        assert step is not None
        barrier = threading.Barrier(2)
        key = uuid.uuid4().hex

        def submit(
            assignment_id: int = step.assignment.pk,
            slug: str = step.question.slug,
            key: str = key,
            barrier: threading.Barrier = barrier,
        ) -> None:
            try:
                barrier.wait()
                result = answer_submit(
                    annotator=user, assignment_id=assignment_id, question_slug=slug, value=False, idempotency_key=key
                )
                outcomes.append((result.answer_id, result.created))
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors, errors
    assert Answer.objects.filter(annotator=user).count() == 12
    assert sorted(created for _id, created in outcomes) == [False] * 12 + [True] * 12
    by_answer = Counter(answer_id for answer_id, _created in outcomes)
    assert set(by_answer.values()) == {2}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement lock and read is PostgreSQL's")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_answer_that_waited_for_the_lock_reads_what_the_holder_committed_before_consolidating() -> None:
    """The answer path locks and reads in one statement, whose snapshot predates the lock. When it had to wait for
    another answer on the same candidate, what that answer committed must still count: two Yes settle the
    question (a stale read would see one Yes, leave it open and ask a third annotator)."""
    (candidate,) = pooled(1)
    first, second = UserFactory(role="annotator"), UserFactory(role="annotator")
    steps = [assignment_next(annotator=user) for user in (first, second)]
    assert all(step is not None and step.assignment.candidate_id == candidate.pk for step in steps)
    holding, done = threading.Event(), threading.Event()
    statements: list[str] = []
    errors: list[BaseException] = []

    def yes_to_complete(user: Any, step: Any, key: str) -> None:
        answer_submit(
            annotator=user, assignment_id=step.assignment.pk, question_slug="complete", value=True, idempotency_key=key
        )

    def answer_and_hold_the_lock() -> None:
        try:
            with transaction.atomic():  # the answer's own transaction becomes a savepoint: its locks stay held
                yes_to_complete(first, steps[0], "first")
                holding.set()
                done.wait(10)  # until the other answer waits for the lock
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def answer_while_locked() -> None:
        try:
            holding.wait(10)
            with CaptureQueriesContext(connection) as captured:
                yes_to_complete(second, steps[1], "second")
            statements.extend(query["sql"] for query in captured.captured_queries)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    holder, waiter = threading.Thread(target=answer_and_hold_the_lock), threading.Thread(target=answer_while_locked)
    holder.start()
    waiter.start()
    assert holding.wait(10)
    with connection.cursor() as cursor:  # the second answer's statement is waiting for the queue item's lock
        for _ in range(200):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = "
                "'Lock' AND query LIKE 'WITH locked%%'"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.025)
        else:
            pytest.fail("the second answer never waited for the lock")
    done.set()
    holder.join(10)
    waiter.join(10)
    assert not errors, errors
    reads = [sql for sql in statements if sql.startswith(("WITH locked", "WITH items"))]
    assert [sql[:11] for sql in reads] == ["WITH locked", "WITH items "]  # its snapshot was stale: read again
    label = ConsolidatedLabel.objects.get(candidate=candidate, question__slug="complete")
    assert (label.value, label.yes, label.no) == (True, 2, 0)
