"""Labels that come from outside the answer path (a curator's audit), and the queue's priority penalties: the
writes other apps ask annotation for, so that annotation's tables are written only here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation import sql
from annotation.models import NewLabelCount, Question, QueueItem


@transaction.atomic
def labels_record(*, candidate_id: int, values: Mapping[str, bool], method: str) -> int:
    """Set a candidate's consolidated label on each named question (by slug) as decided with ``method`` (e.g.
    "audit"), and count each toward the retraining trigger; unknown slugs are ignored. Returns how many were set."""
    questions = dict(Question.objects.filter(slug__in=list(values)).values_list("slug", "pk"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        for slug, value in values.items():
            if slug not in questions:
                continue
            cursor.execute(sql.LABEL_DECIDED_ELSEWHERE, [candidate_id, questions[slug], value, method, now])
            NewLabelCount.objects.get_or_create(question_id=questions[slug])
            NewLabelCount.objects.filter(question_id=questions[slug]).update(count=F("count") + 1)
    return sum(1 for slug in values if slug in questions)


def queue_priority_lower(*, candidate_ids: Iterable[int], by: float) -> int:
    """Lower the queue priority of some candidates (a rejected review batch sends its candidates back lower)."""
    ids = list(candidate_ids)
    if not ids:
        return 0
    return QueueItem.objects.filter(candidate_id__in=ids).update(priority=F("priority") - by)


IMPORT_BATCH = 1_000


@transaction.atomic
def labels_import(*, rows: Iterable[tuple[int, str, bool, int, int]], method: str) -> int:
    """Consolidated labels brought in from another tool (a Label Studio or Argilla history): ``rows`` are
    (candidate id, question slug, value, yes votes, no votes), written with ``method`` (e.g. "labelstudio") and
    the winning side's share of the votes as confidence (1.0 without votes), in multi-row INSERTs. A label the
    platform already holds for that candidate and question is kept (an import never overwrites the platform's own
    decisions); unknown slugs are skipped. Each new label counts toward the retraining trigger. Returns how many
    labels were written."""
    questions = dict(Question.objects.values_list("slug", "pk"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    written: dict[int, int] = {}
    batch: list[tuple[int, int, bool, int, int]] = []

    def flush() -> None:
        if not batch:
            return
        params: list[Any] = []
        for candidate_id, question_id, value, yes, no in batch:
            votes = yes + no
            confidence = max(yes, no) / votes if votes else 1.0
            params += [candidate_id, question_id, value, confidence, yes, no, method, now]
        with connection.cursor() as cursor:
            cursor.execute(
                sql.LABELS_IMPORT.format(rows=", ".join([sql.LABEL_IMPORT_ROW] * len(batch))),
                params,
            )
            for (question_id,) in cursor.fetchall():
                written[question_id] = written.get(question_id, 0) + 1
        batch.clear()

    for candidate_id, slug, value, yes, no in rows:
        if slug in questions:
            batch.append((candidate_id, questions[slug], bool(value), int(yes), int(no)))
            if len(batch) >= IMPORT_BATCH:
                flush()
    flush()
    for question_id, count in written.items():
        NewLabelCount.objects.get_or_create(question_id=question_id)
        NewLabelCount.objects.filter(question_id=question_id).update(count=F("count") + count)
    return sum(written.values())
