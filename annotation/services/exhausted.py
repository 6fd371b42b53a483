"""Small teams finish (issue 21): candidates that no annotator may see any more are settled by the evidence there is.

An annotator never gets a candidate twice (``one_pass_per_annotator``), so with a small team a tie, or a gate
that wants a third No, can outlast the people who may answer it: with 3 annotators about one candidate in eight
stayed open for ever. We chose to **settle by the weighted evidence** (over routing every such candidate to a
curator, which moves the same work to scarcer people, and over a cool-down after which an annotator sees the
candidate again, which would break the independence that majority and agreement assume): each annotator's vote
weighs the log-odds of their gold accuracy (``annotator_weights``), a gate is passed on rather than closed, and a
question that nobody answered gives the candidate up with a reason. The candidate becomes ``labelled`` and its
queue item keeps the reason (``QueueItem.closed_reason``). See ``annotation.maths.overlap`` for the rule.

The sweep runs on Celery beat (``annotation.queue_exhausted_settle``), after each round of ``simulate_annotators``,
and by hand (``python manage.py annotation_queue --settle-exhausted``). It never waits for a lock.
"""

from __future__ import annotations

import math

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotation.models import AnnotatorProfile, Assignment, QueueItem
from annotation.services.consolidation import _settle
from annotation.services.questions import _questions
from annotation.services.reading import _load_states, _lock_item
from core.roles import Role

#: The accuracy assumed of an annotator with no gold answers, as pseudo-answers (4 correct of 5, i.e. 0.8).
PRIOR_CORRECT, PRIOR_TOTAL = 4.0, 5.0


def annotator_weights() -> dict[int, float]:
    """Per annotator, the log-odds of their gold accuracy, smoothed toward 0.8 and clipped to [0.55, 0.99]."""
    weights: dict[int, float] = {}
    for user_id, correct, total in AnnotatorProfile.objects.values_list("user_id", "gold_correct", "gold_total"):
        accuracy = min(max((correct + PRIOR_CORRECT) / (total + PRIOR_TOTAL), 0.55), 0.99)
        weights[user_id] = math.log(accuracy / (1.0 - accuracy))
    return weights


def _exhausted_ids(limit: int) -> list[int]:
    """Open, ordinary queue items with no lease in flight, that somebody has had, and that no active, unpaused
    annotator may still get (each has had a pass on it)."""
    passes = Assignment.objects.filter(candidate_id=OuterRef("candidate_id"))
    own_pass = Assignment.objects.filter(candidate_id=OuterRef(OuterRef("candidate_id")), annotator=OuterRef("pk"))
    may_still_get = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.ANNOTATOR.value)
        .exclude(annotator_profile__paused=True)
        .exclude(Exists(own_pass))
    )
    items = (
        QueueItem.objects.filter(state=QueueItem.State.OPEN, is_gold=False, in_flight=0)
        .filter(Exists(passes))
        .exclude(Exists(may_still_get))
        .order_by("candidate_id")
    )
    return list(items.values_list("candidate_id", flat=True)[:limit])


def queue_exhausted_settle(*, limit: int = 5_000) -> int:
    """Settle (see the module docstring) up to ``limit`` candidates that no annotator may see any more; returns
    how many closed. Each is settled in its own transaction under its queue item's lock, skipped when locked."""
    candidate_ids = _exhausted_ids(limit)
    if not candidate_ids:
        return 0
    questions = _questions()
    weights = annotator_weights()
    closed = 0
    for candidate_id in candidate_ids:
        with transaction.atomic():
            item = _lock_item(candidate_id, skip_locked=True)
            if item is None or item.state != QueueItem.State.OPEN or item.in_flight or item.is_gold:
                continue
            state = _load_states([candidate_id], annotator_id=0)[candidate_id]
            now = timezone.now()
            _settle(item, state, questions, now, exhausted=True, weights=weights)
            if item.state == QueueItem.State.CLOSED:
                closed += 1
                QueueItem.objects.filter(pk=candidate_id).update(closed_reason=item.closed_reason, updated_at=now)
    return closed
