"""Issue 21's annotation loop against PostgreSQL: gates that need stronger evidence for a No, gates waived where they
are answered with confidence, small teams that finish, the platform's order, and targets from the evidence."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from annotation.management.commands.simulate_annotators import simulate
from annotation.maths.overlap import WAIVED
from annotation.maths.selection import gate_sampled
from annotation.models import Answer, ConsolidatedLabel, QueueItem
from annotation.priorities import queue_priorities_recompute
from annotation.services import answer_submit, assignment_next, queue_fill
from annotation.services.exhausted import queue_exhausted_settle
from annotation.tasks import queue_exhausted_settle_task
from knowledge.models import Candidate, Relation
from tests.conftest import wait_until
from tests.factories import CandidateFactory, UserFactory

pytestmark = pytest.mark.django_db

QUESTIONS = ["complete", "relevant", "informative", "plausible", "typical"]


def answer(user: Any, value: bool) -> str:
    step = assignment_next(annotator=user)
    assert step is not None
    answer_submit(
        annotator=user,
        assignment_id=step.assignment.pk,
        question_slug=step.question.slug,
        value=value,
        idempotency_key=uuid.uuid4().hex,
    )
    return step.question.slug


def test_a_gate_no_by_two_noisy_answers_does_not_close_the_candidate() -> None:
    candidate = CandidateFactory(status="pooled")
    queue_fill()
    ann, bob, cat = (UserFactory(role="annotator") for _ in range(3))
    assert answer(ann, False) == "complete"
    assert answer(bob, False) == "complete"
    candidate.refresh_from_db()
    item = QueueItem.objects.get(candidate=candidate)
    assert candidate.status == "in_annotation" and (item.state, item.wanted) == ("open", 1)
    assert ConsolidatedLabel.objects.get(candidate=candidate, question__slug="complete").value is None
    assert answer(cat, False) == "complete"  # a third agreeing No closes it
    candidate.refresh_from_db()
    assert candidate.status == "labelled"
    assert ConsolidatedLabel.objects.get(candidate=candidate, question__slug="complete").value is False


def test_when_every_annotator_has_had_a_candidate_it_is_settled_by_the_evidence_with_a_reason() -> None:
    candidate = CandidateFactory(status="pooled")
    queue_fill()
    ann, bob, cat = (UserFactory(role="annotator") for _ in range(3))
    answer(ann, False)  # complete: a noisy No ends ann's pass
    for user in (bob, cat):
        for _ in range(3):
            answer(user, True)  # complete, relevant, informative
    assert answer(bob, True) == "plausible"
    assert answer(bob, True) == "typical"  # bob walks on to the end of his pass
    assert answer(cat, False) == "plausible"  # 1 : 1, and nobody is left to break the tie
    assert QueueItem.objects.get(candidate=candidate).state == "open"
    assert queue_exhausted_settle() == 1
    candidate.refresh_from_db()
    item = QueueItem.objects.get(candidate=candidate)
    assert candidate.status == "labelled" and item.state == "closed"
    assert "plausible" in item.closed_reason and item.closed_reason.startswith("no annotator left")
    assert ConsolidatedLabel.objects.get(candidate=candidate, question__slug="complete").value is True
    assert queue_exhausted_settle() == 0  # idempotent


def test_a_candidate_another_annotator_may_still_get_is_left_open() -> None:
    candidate = CandidateFactory(status="pooled")
    queue_fill()
    ann, bob, _cat = (UserFactory(role="annotator") for _ in range(3))
    answer(ann, False)
    answer(bob, False)
    assert queue_exhausted_settle() == 0
    assert QueueItem.objects.get(candidate=candidate).state == "open"


def labelled_lines(count: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Ingest lines with known answers: a tenth fail a gate, a third are implausible."""
    import random

    rng = random.Random(seed)
    lines = []
    for number in range(count):
        labels = dict.fromkeys(QUESTIONS, True)
        roll = rng.random()
        if roll < 0.1:
            labels.update({QUESTIONS[number % 3]: False, "plausible": False, "typical": False})
        elif roll < 0.45:
            labels.update({"plausible": False, "typical": False})
        elif roll < 0.65:
            labels["typical"] = False
        lines.append(
            {
                "kind": "search_buy",
                "query": f"query {number % 7}",
                "product": {"id": f"P{number:04d}", "title": f"Product {number}", "category": f"C{number % 3}"},
                "relation": ["capable_of", "used_for_function", "x_want"][number % 3],
                "tail": f"do thing {number}",
                "labels": labels,
            }
        )
    return lines


def test_three_simulated_annotators_leave_no_candidate_stuck(write_lines: Callable[..., Path]) -> None:
    path = write_lines(labelled_lines(40, seed=3))
    report = simulate(annotators=3, error_rate=0.1, seed=5, answers_file=path)
    assert report.touched == 40
    assert report.stuck == 0
    assert report.labelled == 40
    assert Candidate.objects.filter(status="in_annotation").count() == 0
    reasons = list(QueueItem.objects.exclude(closed_reason="").values_list("closed_reason", flat=True))
    assert len(reasons) == report.given_up
    assert all(reason.startswith("no annotator left") for reason in reasons)


def test_the_training_target_is_at_least_as_accurate_as_the_per_question_labels(
    write_lines: Callable[..., Path],
) -> None:
    path = write_lines(labelled_lines(60, seed=11))
    report = simulate(annotators=3, error_rate=0.1, seed=12, answers_file=path)
    correct, compared = report.accuracy["plausible"]  # the target question's own consolidated labels
    target_correct, target_compared = report.target_accuracy["plausible"]
    assert compared > 30 and target_compared >= compared
    assert target_correct / target_compared >= correct / compared


def test_gates_the_classifier_answers_with_confidence_are_asked_on_the_sampled_share_only(settings: Any) -> None:
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GATE_SAMPLE_SHARE": 0.25, "GOLD_RATE": 0.0}
    candidates = CandidateFactory.create_batch(80, status="pooled")
    queue_fill()
    ids = [candidate.pk for candidate in candidates]
    scores = {candidate_id: 0.95 for candidate_id in ids}
    queue_priorities_recompute(model_auc=0.9, scores=scores)
    waived = set(ConsolidatedLabel.objects.filter(method=WAIVED).values_list("candidate_id", flat=True))
    sampled = {candidate_id for candidate_id in ids if gate_sampled(candidate_id, 0.25)}
    assert waived == set(ids) - sampled and 0 < len(sampled) < 40
    assert ConsolidatedLabel.objects.filter(method=WAIVED).count() == 3 * len(waived)
    user = UserFactory(role="annotator")
    asked = {}
    for _ in range(80):
        step = assignment_next(annotator=user)
        if step is None:
            break
        asked[step.assignment.candidate_id] = step.question.slug
        answer_submit(
            annotator=user,
            assignment_id=step.assignment.pk,
            question_slug=step.question.slug,
            value=False,
            idempotency_key=uuid.uuid4().hex,
        )
    assert {candidate_id for candidate_id, slug in asked.items() if slug == "complete"} == sampled
    assert {slug for candidate_id, slug in asked.items() if candidate_id in waived} == {"plausible"}
    assert not Answer.objects.filter(candidate_id__in=waived, question__slug__in=QUESTIONS[:3]).exists()
    # a model that no longer beats chance gives the gates back
    queue_priorities_recompute(model_auc=0.52, scores=scores)
    still_waived = ConsolidatedLabel.objects.filter(method=WAIVED, candidate__queueitem__state="open")
    assert not still_waived.filter(candidate__queueitem__in_flight=0).exists()


def test_the_platform_order_interleaves_strata_and_warm_starts_at_random(settings: Any) -> None:
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "RANDOM_SHARE": 0.0}
    relations = list(Relation.objects.order_by("slug")[:3])
    sizes = [60, 20, 5]
    by_relation: dict[int, int] = {}
    for relation, size in zip(relations, sizes, strict=True):
        for candidate in CandidateFactory.create_batch(size, status="pooled", relation=relation):
            by_relation[candidate.pk] = relation.pk
    queue_fill()
    uncertainty = {candidate_id: candidate_id / max(by_relation) for candidate_id in by_relation}
    queue_priorities_recompute(uncertainty=uncertainty, model_auc=0.55)  # near chance: a warm start
    order = list(QueueItem.objects.order_by("-priority").values_list("candidate_id", flat=True))
    assert len({by_relation[candidate_id] for candidate_id in order[:3]}) == 3  # every relation at once
    first = order[:15]
    assert sum(by_relation[c] == relations[0].pk for c in first) < 15  # the big relation does not come in a block
    queue_priorities_recompute(uncertainty=uncertainty, model_auc=0.9)  # beats chance: uncertainty leads
    ready = list(QueueItem.objects.order_by("-priority").values_list("candidate_id", flat=True))
    per_relation_first: dict[int, int] = {}
    for candidate_id in ready:
        per_relation_first.setdefault(by_relation[candidate_id], candidate_id)
    for relation_id, candidate_id in per_relation_first.items():  # each relation starts at its most uncertain
        assert candidate_id == max(c for c, r in by_relation.items() if r == relation_id)


def test_a_queued_candidate_moved_to_scored_ends_labelled_when_labelled() -> None:
    candidate = CandidateFactory(status="pooled")
    queue_fill()
    Candidate.objects.filter(pk=candidate.pk).update(status="scored")  # what candidates_mark_scored does
    users = [UserFactory(role="annotator") for _ in range(2)]
    for user in users:
        for _ in QUESTIONS:
            answer(user, True)
    candidate.refresh_from_db()
    assert candidate.status == "labelled"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_settles_candidates_no_annotator_may_see_any_more(celery_worker_process: Any) -> None:
    candidate = CandidateFactory(status="pooled")
    with transaction.atomic():
        queue_fill()
    ann, bob = (UserFactory(role="annotator") for _ in range(2))
    answer(ann, False)
    answer(bob, False)  # two No on complete: not closed; and nobody else may see it
    assert QueueItem.objects.get(candidate=candidate).state == "open"
    queue_exhausted_settle_task.delay()
    assert wait_until(lambda: QueueItem.objects.get(candidate=candidate).state == "closed", timeout=60)
    item = QueueItem.objects.get(candidate=candidate)
    assert item.closed_reason.startswith("no annotator left")
    assert Candidate.objects.get(pk=candidate.pk).status == "labelled"
