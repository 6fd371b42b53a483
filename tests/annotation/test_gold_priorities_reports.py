"""Gold questions and annotator accuracy, bulk priorities, agreement reports, Dawid-Skene and the label counter."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.urls import reverse

from annotation.models import AnnotatorProfile, Answer, ConsolidatedLabel, NewLabelCount, QueueItem
from annotation.priorities import queue_priorities_recompute
from annotation.reports import agreement_report, labels_consolidate_dawid_skene
from annotation.services import answer_submit, assignment_next, queue_fill
from knowledge.models import BehaviourPair, Candidate, SearchQuery
from tests.conftest import search_buy
from tests.factories import CandidateFactory, UserFactory

pytestmark = pytest.mark.django_db


def walk(user: Any, value_for: Any, *, answered: Any = None) -> list[tuple[int, str, bool]]:
    """Answer until the queue is empty; ``value_for(candidate_id, question_slug)`` gives each answer, and
    ``answered(candidate_id, question_slug)``, when given, is called after each one is stored."""
    given = []
    while (step := assignment_next(annotator=user)) is not None:
        value = value_for(step.assignment.candidate_id, step.question.slug)
        answer_submit(
            annotator=user,
            assignment_id=step.assignment.pk,
            question_slug=step.question.slug,
            value=value,
            idempotency_key=uuid.uuid4().hex,
        )
        given.append((step.assignment.candidate_id, step.question.slug, value))
        if answered is not None:
            answered(step.assignment.candidate_id, step.question.slug)
    return given


def test_gold_candidates_are_offered_to_every_annotator_and_score_them(settings: Any) -> None:
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 1.0, "GOLD_MIN_ANSWERS": 3}
    gold = CandidateFactory.create_batch(
        3, status="pooled", known_labels={"complete": True, "relevant": True, "informative": False}
    )
    CandidateFactory(status="pooled")
    queue_fill()
    assert set(QueueItem.objects.filter(is_gold=True).values_list("candidate_id", flat=True)) == {c.pk for c in gold}
    good, bad = UserFactory(role="annotator"), UserFactory(role="annotator")
    known = {c.pk: c.known_labels for c in gold}

    def truthful(candidate_id: int, slug: str) -> bool:
        return known.get(candidate_id, {}).get(slug, True)

    first_steps = [assignment_next(annotator=user) for user in (good, bad)]
    assert all(step is not None and step.assignment.candidate_id in known for step in first_steps)  # rate 1.0
    walk(good, truthful)
    walk(bad, lambda candidate_id, slug: not truthful(candidate_id, slug))
    good_profile = AnnotatorProfile.objects.get(user=good)
    bad_profile = AnnotatorProfile.objects.get(user=bad)
    assert (good_profile.gold_correct, good_profile.gold_total, good_profile.flagged) == (9, 9, False)
    assert bad_profile.flagged and bad_profile.paused and bad_profile.excluded
    assert bad_profile.gold_correct == 0
    assert assignment_next(annotator=bad) is None  # paused
    labels = ConsolidatedLabel.objects.filter(candidate__in=gold, method="gold")
    assert {(label.question.slug, label.value) for label in labels} == {
        ("complete", True),
        ("relevant", True),
        ("informative", False),
    }
    assert set(Candidate.objects.filter(pk__in=known).values_list("status", flat=True)) == {"in_annotation"}


def test_gold_accuracy_is_judged_at_the_threshold_exactly_as_the_rule_says(settings: Any) -> None:
    """7 of 10 is 0.7: not under a 0.7 threshold, so not flagged; the 11th gold answer, wrong, makes 7 of 11 and
    flags, excluding but not pausing as configured. Answers to questions without a known answer are not scored."""
    settings.PLAUSI_ANNOTATION = {
        **settings.PLAUSI_ANNOTATION,
        "GOLD_RATE": 1.0,
        "GOLD_MIN_ANSWERS": 10,
        "GOLD_MIN_ACCURACY": 0.7,
        "PAUSE_FLAGGED": False,
        "EXCLUDE_FLAGGED": True,
    }
    CandidateFactory.create_batch(11, status="pooled", known_labels={"complete": True})
    queue_fill()
    annotator = UserFactory(role="annotator")
    scripted = iter([True, False, True, True, False, True, True, False, True, True, False])
    records = []

    def value_for(_candidate_id: int, slug: str) -> bool:
        if slug != "complete":
            return True  # no known answer: not scored
        return next(scripted)

    def record(_candidate_id: int, slug: str) -> None:
        if slug == "complete":
            profile = AnnotatorProfile.objects.get(user=annotator)
            flags = (profile.flagged, profile.paused, profile.excluded)
            records.append((profile.gold_correct, profile.gold_total, *flags))

    walk(annotator, value_for, answered=record)

    assert len(records) == 11
    assert records[9] == (7, 10, False, False, False)
    assert records[10] == (7, 11, True, False, True)
    assert not any(flagged for _c, _t, flagged, _p, _e in records[:10])
    assert (
        AnnotatorProfile.objects.get(user=annotator).answered_that_day
        == Answer.objects.filter(annotator=annotator).count()
    )


def test_an_excluded_annotators_answers_do_not_count(settings: Any) -> None:
    (candidate,) = CandidateFactory.create_batch(1, status="pooled")
    queue_fill()
    ann, bob, cat = (UserFactory(role="annotator") for _ in range(3))
    AnnotatorProfile.objects.create(user=cat, excluded=True)
    step = assignment_next(annotator=cat)
    answer_submit(
        annotator=cat, assignment_id=step.assignment.pk, question_slug="complete", value=False, idempotency_key="c"
    )
    for user in (ann, bob):
        step = assignment_next(annotator=user)
        answer_submit(
            annotator=user,
            assignment_id=step.assignment.pk,
            question_slug="complete",
            value=True,
            idempotency_key=uuid.uuid4().hex,
        )
    label = ConsolidatedLabel.objects.get(candidate=candidate, question__slug="complete")
    assert (label.value, label.yes, label.no) == (True, 2, 0)


def test_broad_queries_and_well_supported_candidates_come_first(ingest: Any, write_lines: Any, settings: Any) -> None:
    # COSMO's breadth and support terms alone: no random share, no warm-start draws (test_selection.py has those)
    conf = settings.PLAUSI_ANNOTATION
    weights = {**conf["PRIORITY_WEIGHTS"], "uncertainty": 0.0}
    settings.PLAUSI_ANNOTATION = {**conf, "RANDOM_SHARE": 0.0, "PRIORITY_WEIGHTS": weights}
    lines = [
        search_buy("keep warm", query="gift for dad", product={"id": "A", "title": "Scarf", "category": "Fashion"}),
        search_buy("play", query="gift for dad", product={"id": "B", "title": "Chess set", "category": "Toys"}),
        search_buy("grill", query="gift for dad", product={"id": "C", "title": "Tongs", "category": "Kitchen"}),
        search_buy("grip ice", query="winter boots size 10", product={"id": "D", "title": "Boot", "category": "Shoes"}),
        search_buy("stay dry", query="winter boots size 10", product={"id": "D", "title": "Boot", "category": "Shoes"}),
    ]
    ingest(write_lines(lines))
    Candidate.objects.update(status="pooled")
    queue_fill()
    assert queue_priorities_recompute() == 5
    broad = SearchQuery.objects.get(normalized_text="gift for dad").specificity
    specific = SearchQuery.objects.get(normalized_text="winter boots size 10").specificity
    assert specific == 1.0 and broad is not None and broad < specific
    order = list(QueueItem.objects.order_by("-priority").values_list("candidate__pair__query__text", flat=True))
    assert order[:3] == ["gift for dad"] * 3
    assert BehaviourPair.objects.count() == 4


def test_agreement_report_and_dawid_skene_relabel(api_client_for: Any) -> None:
    candidates = CandidateFactory.create_batch(4, status="pooled")
    queue_fill()
    users = [UserFactory(role="annotator") for _ in range(3)]
    for user in users:
        walk(user, lambda candidate_id, slug: slug != "typical")
    report = agreement_report()
    complete = next(row for row in report["questions"] if row["question"] == "complete")
    assert complete["answers"] == 8 and complete["items"] == 4  # two unanimous answers settle each candidate
    assert complete["krippendorff_alpha"] == 1.0 and complete["percent_agreement"] == 1.0
    assert {row["annotator"] for row in report["annotators"]} <= {u.username for u in users}
    assert labels_consolidate_dawid_skene(question_slug="typical") == 4
    typical = ConsolidatedLabel.objects.filter(question__slug="typical", candidate__in=candidates)
    assert {(label.value, label.method) for label in typical} == {(False, "dawid_skene")}
    assert api_client_for("annotator").get(reverse("api-annotation-agreement")).status_code == 403
    assert api_client_for("curator").get(reverse("api-annotation-agreement")).json()["questions"][0]["question"] == (
        "complete"
    )


def test_each_newly_decided_label_is_counted_for_retraining() -> None:
    CandidateFactory.create_batch(2, status="pooled")
    queue_fill()
    for _ in range(2):
        walk(UserFactory(role="annotator"), lambda candidate_id, slug: slug != "plausible")
    counts = dict(NewLabelCount.objects.values_list("question__slug", "count"))
    assert counts == {"complete": 2, "relevant": 2, "informative": 2, "plausible": 2}
    assert Answer.objects.count() == 16
