"""Agreement and annotator reports (reads): the Django layer feeds answers to the pure maths in annotation/maths."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.maths.agreement import gwet_ac1, krippendorff_alpha_nominal, pairwise_cohen_kappa, percent_agreement
from annotation.maths.consolidation import dawid_skene
from annotation.models import AnnotatorProfile, Answer, ConsolidatedLabel, Question, QueueItem
from core.cache import cache_get_or_compute


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def agreement_report(*, max_answers: int = 500_000) -> dict[str, Any]:
    """Per question: Krippendorff's alpha, Gwet's AC1, percent agreement and Cohen's kappa per annotator pair;
    per annotator: answers, answers today, median seconds per answer and gold accuracy.

    Gold candidates are left out of agreement (their answers measure annotators, not candidates). The newest
    ``max_answers`` answers are used, which bounds the work on a big project.
    """
    gold = set(QueueItem.objects.filter(is_gold=True).values_list("candidate_id", flat=True))
    rows = list(
        Answer.objects.order_by("-id").values_list("candidate_id", "question__slug", "annotator__username", "value")[
            :max_answers
        ]
    )
    by_question: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    for candidate_id, slug, annotator, value in rows:
        if candidate_id not in gold:
            by_question[slug].append((candidate_id, annotator, value))
    questions = []
    for question in Question.objects.order_by("order"):
        answers = by_question.get(question.slug, [])
        pairs = pairwise_cohen_kappa(answers) if answers else {}
        questions.append(
            {
                "question": question.slug,
                "answers": len(answers),
                "items": len({item for item, _a, _v in answers}),
                "krippendorff_alpha": _round(krippendorff_alpha_nominal(answers)) if answers else None,
                "gwet_ac1": _round(gwet_ac1(answers)) if answers else None,
                "percent_agreement": _round(percent_agreement(answers)) if answers else None,
                "cohen_kappa_pairs": [
                    {"annotators": [str(a), str(b)], "kappa": _round(kappa), "shared_items": shared}
                    for (a, b), (kappa, shared) in sorted(pairs.items(), key=lambda entry: -entry[1][1])[:50]
                ],
            }
        )
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    per_annotator: dict[str, dict[str, Any]] = {}
    seconds: dict[str, list[float]] = defaultdict(list)
    for username, created_at, spent in Answer.objects.values_list("annotator__username", "created_at", "seconds"):
        entry = per_annotator.setdefault(username, {"annotator": username, "answers": 0, "answers_today": 0})
        entry["answers"] += 1
        entry["answers_today"] += int(created_at >= today)
        if spent is not None:
            seconds[username].append(spent)
    profiles = {p.user.username: p for p in AnnotatorProfile.objects.select_related("user")}
    for username, entry in per_annotator.items():
        profile = profiles.get(username)
        entry["median_seconds"] = _round(statistics.median(seconds[username])) if seconds[username] else None
        entry["gold_answers"] = profile.gold_total if profile else 0
        entry["gold_accuracy"] = _round(profile.gold_accuracy) if profile else None
        entry["flagged"] = bool(profile and profile.flagged)
        entry["paused"] = bool(profile and profile.paused)
    return {"questions": questions, "annotators": sorted(per_annotator.values(), key=lambda e: -e["answers"])}


AGREEMENT_CACHE_SECONDS = 60


def agreement_report_cached() -> dict[str, Any]:
    """The agreement report for web requests: computed at most once a minute per cache, since it reads up to
    ``max_answers`` answers, which is too much work to repeat on every page view."""
    return cache_get_or_compute("annotation:agreement-report", agreement_report, AGREEMENT_CACHE_SECONDS)


@transaction.atomic
def labels_consolidate_dawid_skene(*, question_slug: str) -> int:
    """Re-estimate one question's labels with Dawid-Skene (EM over per-annotator confusion), as a batch.

    The online majority drives the queue; this batch method re-weights annotators by their estimated
    reliability and stores ``value`` = P(Yes) >= 0.5 with ``confidence`` = max(P, 1 - P) and
    ``method = "dawid_skene"``. Gold candidates and excluded annotators are left out. Returns labels written.
    """
    question = Question.objects.get(slug=question_slug)
    gold = set(QueueItem.objects.filter(is_gold=True).values_list("candidate_id", flat=True))
    answers = [
        (candidate_id, annotator_id, value)
        for candidate_id, annotator_id, value in Answer.objects.filter(question=question)
        .exclude(annotator__annotator_profile__excluded=True)
        .values_list("candidate_id", "annotator_id", "value")
        if candidate_id not in gold
    ]
    if not answers:
        return 0
    probabilities, _reliability = dawid_skene(answers)
    now = timezone.now()
    for candidate_id, p_yes in probabilities.items():
        ConsolidatedLabel.objects.update_or_create(
            candidate_id=candidate_id,
            question=question,
            defaults={
                "value": p_yes >= 0.5,
                "confidence": max(p_yes, 1.0 - p_yes),
                "method": "dawid_skene",
                "updated_at": now,
            },
        )
    return len(probabilities)
