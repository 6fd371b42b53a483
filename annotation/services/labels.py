"""Labels that come from outside the answer path (a curator's audit), and the queue's priority penalties: the
writes other apps ask annotation for, so that annotation's tables are written only here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
