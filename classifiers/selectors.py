"""Reads for the classifiers: training labels per target, the text of candidates, the registry."""

from __future__ import annotations

from typing import Any

from django.db import connection

from classifiers.ml.data import Example, describe_head
from classifiers.models import ModelVersion, ScoringRun, TrainingRun
from knowledge.selectors import CANDIDATE_BEHAVIOUR_FROM

#: Statuses whose candidates are scored: everything that passed the filters.
SCORABLE = ("pooled", "in_annotation", "labelled", "scored", "accepted", "rejected")

_EXAMPLE_SQL = (
    "SELECT c.id, c.head_kind, c.head_text, c.tail, r.slug, sq.text, p1.title, p1.external_id, k1.name, "
    "p2.title, p2.external_id " + CANDIDATE_BEHAVIOUR_FROM
)


def _example(row: tuple[Any, ...]) -> tuple[int, Example]:
    candidate_id, head_kind, head_text, tail, relation, query, title, external_id, category, other, other_id = row
    head = describe_head(
        head_kind=head_kind,
        head_text=head_text,
        query=query,
        product=title or external_id,
        other_product=other or other_id,
        category=category,
    )
    return int(candidate_id), Example(head=head, relation=relation, tail=tail)


def candidate_examples(candidate_ids: list[int], *, chunk: int = 5_000) -> dict[int, Example]:
    """The examples of some candidates (missing ids are left out)."""
    found: dict[int, Example] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(candidate_ids), chunk):
            part = candidate_ids[start : start + chunk]
            cursor.execute(_EXAMPLE_SQL + f"WHERE c.id IN ({', '.join(['%s'] * len(part))})", part)
            found.update(_example(row) for row in cursor.fetchall())
    return found


def candidate_groups(candidate_ids: list[int], *, chunk: int = 5_000) -> dict[int, str]:
    """The evaluation group of each candidate: its behaviour pair, or its head text when it has none. Candidates
    of one group share their head (a pair's explanations are near copies), so folds never split a group."""
    found: dict[int, str] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(candidate_ids), chunk):
            part = candidate_ids[start : start + chunk]
            cursor.execute(
                f"SELECT id, pair_id, head_text FROM knowledge_candidate WHERE id IN ({', '.join(['%s'] * len(part))})",
                part,
            )
            found.update(
                (int(i), f"pair:{pair}" if pair is not None else f"head:{head}") for i, pair, head in cursor.fetchall()
            )
    return found


def scorable_ids_in_range(start_id: int, end_id: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM knowledge_candidate WHERE id >= %s AND id < %s AND status IN "
            f"({', '.join(['%s'] * len(SCORABLE))}) ORDER BY id",
            [start_id, end_id, *SCORABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def scorable_id_bounds() -> tuple[int, int] | None:
    """(lowest id, highest id + 1) of the scorable candidates, or None when there are none."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id) FROM knowledge_candidate WHERE status IN ({', '.join(['%s'] * len(SCORABLE))})",
            list(SCORABLE),
        )
        low, high = cursor.fetchone()
    return None if low is None else (int(low), int(high) + 1)


def target_labels(target: str) -> dict[int, int]:
    """``{candidate id: 1 or 0}`` for a target question, from the consolidated labels.

    Yes when the target was settled Yes and no question up to it was settled No; No when the target, or any
    question before it in the gate order, was settled No (a candidate that is incomplete, irrelevant or
    uninformative is not plausible or typical knowledge either; the gate stopped annotators before asking).
    Undecided and tied labels are left out.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.candidate_id, q.slug, l.value FROM annotation_consolidatedlabel l "
            "JOIN annotation_question q ON q.id = l.question_id "
            'WHERE l.value IS NOT NULL AND q.is_active AND q."order" <= '
            '(SELECT "order" FROM annotation_question WHERE slug = %s)',
            [target],
        )
        rows = cursor.fetchall()
    positive: set[int] = set()
    negative: set[int] = set()
    for candidate_id, slug, value in rows:
        if not value:
            negative.add(candidate_id)
        elif slug == target:
            positive.add(candidate_id)
    labels = {candidate_id: 1 for candidate_id in positive - negative}
    labels.update({candidate_id: 0 for candidate_id in negative})
    return labels


def model_version_list(*, target: str | None = None) -> Any:
    """Model versions, newest first; of one target when ``target`` is given."""
    versions = ModelVersion.objects.all()
    return versions.filter(target=target) if target else versions


def training_run_list() -> Any:
    """Training runs, newest first."""
    return TrainingRun.objects.all()


def scoring_run_list() -> Any:
    """Scoring runs, newest first, with their model version."""
    return ScoringRun.objects.select_related("model_version")


def active_versions() -> dict[str, ModelVersion]:
    return {version.target: version for version in ModelVersion.objects.filter(is_active=True)}


def learning_curve(target: str) -> list[dict[str, Any]]:
    """Metric against label count across the versions of a target, oldest first, with the 95% intervals of
    the ROC AUC and of the acceptance threshold (bootstrap over behaviour pairs; None for versions trained before
    intervals were stored)."""
    return [
        {
            "version": version.pk,
            "kind": version.kind,
            "labels": version.label_count,
            "roc_auc": version.metrics.get("roc_auc"),
            "roc_auc_low": (version.metrics.get("roc_auc_interval") or [None, None])[0],
            "roc_auc_high": (version.metrics.get("roc_auc_interval") or [None, None])[1],
            "threshold": version.threshold,
            "threshold_low": (version.metrics.get("threshold_interval") or [None, None])[0],
            "threshold_high": (version.metrics.get("threshold_interval") or [None, None])[1],
            "threshold_note": version.metrics.get("threshold_note", ""),
            "macro_f1": version.metrics.get("macro_f1"),
            "recall_at_threshold": version.metrics.get("recall_at_threshold"),
            "active": version.is_active,
            "created_at": version.created_at,
        }
        for version in ModelVersion.objects.filter(target=target).order_by("created_at", "id")
    ]


def label_counter(target: str) -> int:
    """The cumulative count of labels decided on the target's questions (the target and those gating it), as
    annotation counts them; the retraining trigger compares it with the counter its last training saw."""
    from annotation.selectors import new_label_count

    return new_label_count(question_slug=target)


def classifier_uncertainty() -> dict[int, float]:
    """Per open queue item, the classifier's uncertainty (1 at p = 0.5, 0 at p = 0 or 1; the most uncertain
    target counts), for the annotation priority (active learning)."""
    actives = active_versions()
    if not actives:
        return {}
    marks = ", ".join(["%s"] * len(actives))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.candidate_id, max(1 - abs(2 * s.score - 1)) FROM classifiers_candidatescore s "
            "JOIN annotation_queueitem q ON q.candidate_id = s.candidate_id "
            f"WHERE q.state = 'open' AND s.target IN ({marks}) GROUP BY s.candidate_id",
            list(actives),
        )
        return {int(candidate_id): float(value) for candidate_id, value in cursor.fetchall()}


def training_backlog() -> list[dict[str, Any]]:
    """Per target: labels counted so far, new ones since its last training request, how many the next automatic
    training waits for, and whether a training is in flight."""
    from django.conf import settings

    conf = settings.PLAUSI_CLASSIFIERS
    backlog = []
    for target in conf["TARGETS"]:
        last = TrainingRun.objects.filter(target=target).order_by("-created_at", "-id").first()
        counted = label_counter(target)
        has_version = ModelVersion.objects.filter(target=target).exists()
        backlog.append(
            {
                "target": target,
                "labels": counted,
                "new_labels": counted - (last.label_counter if last else 0),
                "needed": int(conf["RETRAIN_EVERY"] if has_version else conf["MIN_LABELS"]),
                "in_flight": TrainingRun.objects.filter(target=target, status__in=["queued", "running"]).exists(),
                "active_version": ModelVersion.objects.filter(target=target, is_active=True)
                .values_list("pk", flat=True)
                .first(),
            }
        )
    return backlog


def lowest_scores(candidate_ids: list[int]) -> dict[int, float]:
    """Per candidate, the lowest of its scores over the targets (how a review batch ranks it)."""
    from django.db.models import Min

    from classifiers.models import CandidateScore

    return dict(
        CandidateScore.objects.filter(candidate_id__in=candidate_ids)
        .values("candidate_id")
        .annotate(low=Min("score"))
        .values_list("candidate_id", "low")
    )


def active_learning_inputs() -> dict[str, Any]:
    """What the annotation priorities take from the classifiers (issue 21), as keyword arguments of
    ``annotation.priorities.queue_priorities_recompute``: ``uncertainty`` (``classifier_uncertainty``),
    ``model_auc`` and ``model_auc_low`` (the active version of the first target: its ROC AUC and the lower end of
    its interval, ``metrics["roc_auc_low"]`` or ``metrics["roc_auc_interval"][0]``, where it has one) and
    ``scores`` (that version's P(Yes) per open queue item, for the gates)."""
    from django.conf import settings

    first = settings.PLAUSI_CLASSIFIERS["TARGETS"][0]
    version = active_versions().get(first)
    if version is None:
        return {"uncertainty": classifier_uncertainty(), "model_auc": None, "model_auc_low": None, "scores": None}
    metrics = version.metrics or {}
    interval = metrics.get("roc_auc_interval")
    low = metrics.get("roc_auc_low", interval[0] if isinstance(interval, list | tuple) and interval else None)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.candidate_id, s.score FROM classifiers_candidatescore s "
            "JOIN annotation_queueitem q ON q.candidate_id = s.candidate_id "
            "WHERE q.state = 'open' AND s.target = %s",
            [first],
        )
        scores = {int(candidate_id): float(score) for candidate_id, score in cursor.fetchall()}
    return {
        "uncertainty": classifier_uncertainty(),
        "model_auc": metrics.get("roc_auc"),
        "model_auc_low": low,
        "scores": scores,
    }
