"""The simulate_annotators command: simulated annotators drive the real services from known labels."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotation.management.commands.simulate_annotators import simulate
from annotation.models import Answer, ConsolidatedLabel
from core.roles import Role, user_has_role
from knowledge.models import Candidate

pytestmark = pytest.mark.django_db

QUESTIONS = ["complete", "relevant", "informative", "plausible", "typical"]


def labelled_lines(count: int = 10) -> list[dict[str, Any]]:
    """Lines in the ingest format with a known answer to every question; some candidates fail a question."""
    lines = []
    for number in range(count):
        failing = QUESTIONS[number % len(QUESTIONS)] if number % 3 == 0 else None
        lines.append(
            {
                "kind": "search_buy",
                "query": f"winter boots {number}",
                "product": {"id": f"B{number:04d}", "title": f"Boot {number}", "category": "Shoes"},
                "relation": "capable_of",
                "tail": f"grip icy sidewalks {number}",
                "labels": {slug: slug != failing for slug in QUESTIONS},
            }
        )
    return lines


def test_error_free_annotators_label_every_candidate_with_its_known_labels(
    write_lines: Callable[..., Path],
) -> None:
    path = write_lines(labelled_lines(10))
    out = StringIO()
    call_command(
        "simulate_annotators",
        "--answers",
        str(path),
        "--annotators",
        "3",
        "--error-rate",
        "0",
        "--seed",
        "1",
        "--no-progress",
        stdout=out,
    )

    candidates = list(Candidate.objects.all())
    assert len(candidates) == 10
    assert all(candidate.status == Candidate.Status.LABELLED for candidate in candidates)
    for candidate in candidates:
        consolidated = {
            label.question.slug: label.value
            for label in ConsolidatedLabel.objects.filter(candidate=candidate)
            .select_related("question")
            .order_by("question__order")
        }
        known = candidate.known_labels
        # Gating: every question up to the first one known No is asked and settled as known, none after it.
        failing = [slug for slug in QUESTIONS if known[slug] is False]
        asked = QUESTIONS[: QUESTIONS.index(failing[0]) + 1] if failing else QUESTIONS
        assert consolidated == {slug: known[slug] for slug in asked}
    annotators = get_user_model().objects.filter(username__startswith="sim-annotator-")
    assert sorted(annotators.values_list("username", flat=True)) == [f"sim-annotator-{n}" for n in (1, 2, 3)]
    assert all(user_has_role(user, Role.ANNOTATOR) for user in annotators)
    text = out.getvalue()
    assert f"answers given: {Answer.objects.count()} " in text
    assert "candidates labelled: 10 of 10" in text
    assert "all" in text and "100.0%" in text


def test_noisy_annotators_run_to_the_end_and_agree_less_than_perfectly(write_lines: Callable[..., Path]) -> None:
    path = write_lines(labelled_lines(12))

    report = simulate(annotators=3, error_rate=0.3, seed=7, answers_file=path)

    assert report.answers == Answer.objects.count() > 0
    assert report.touched == 12
    overall = report.agreement["all"]
    assert overall.items > 0
    assert overall.percent is not None and overall.percent < 1
    assert overall.alpha is not None and overall.alpha < 1
    correct, compared = report.accuracy["all"]
    assert compared > 0 and correct <= compared


def test_max_answers_bounds_the_run_and_reused_annotators_never_see_a_candidate_twice(
    write_lines: Callable[..., Path],
) -> None:
    path = write_lines(labelled_lines(6))

    first = simulate(annotators=2, error_rate=0.0, seed=3, max_answers=5, answers_file=path)
    second = simulate(annotators=2, error_rate=0.0, seed=3)

    assert first.answers == 5
    assert Answer.objects.count() == first.answers + second.answers
    pairs = list(Answer.objects.values_list("candidate_id", "question_id", "annotator_id"))
    assert len(pairs) == len(set(pairs))


def test_a_set_labelled_only_for_plausible_passes_its_gates_and_the_targets_match_the_labels(
    write_lines: Callable[..., Path],
) -> None:
    """Issue 21's kind of data: human judgements of plausibility only. The gates, unknown, are the Yes the known
    plausible label implies (and the figures' truth assumes), not coin flips that close plausible candidates."""
    lines = labelled_lines(30)
    for number, line in enumerate(lines):
        line["labels"] = {"plausible": number % 2 == 0}
    report = simulate(annotators=3, error_rate=0.0, seed=7, answers_file=write_lines(lines))
    assert report.labelled == 30 and report.stuck == 0
    assert report.target_accuracy["plausible"] == (30, 30)
    gates = ConsolidatedLabel.objects.filter(question__slug__in=QUESTIONS[:3])
    assert gates.exists() and set(gates.values_list("value", flat=True)) == {True}
    plausible = dict(
        ConsolidatedLabel.objects.filter(question__slug="plausible").values_list("candidate__tail", "value")
    )
    assert plausible == {line["tail"]: line["labels"]["plausible"] for line in lines}
