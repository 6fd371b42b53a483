"""Taking work back: skipping a candidate (never offered to that annotator again), giving leases back when the
annotator's page is left, and undoing one's last answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import AnnotatorProfile, Answer, Assignment, QueueItem
from annotation.services.common import _lease, undo_window
from annotation.services.consolidation import _recompute
from annotation.services.gold import _score_gold
from annotation.services.leases import _finish, lease_release_token_valid
from annotation.services.questions import _questions
from annotation.services.reading import _lock_item
from annotation.services.steps import Step, _current_question, _steps
from core.errors import ApplicationError, Conflict, NotAllowed

# A refusal below is decided before the first write and raised only after its transaction has committed (it read
# and locked, nothing more): psycopg answers a rollback by dropping every prepared statement of the connection, and
# the requests after it would plan the answer path again (as for answers: annotation/services/answers.py).


def assignment_skip(*, annotator: Any, assignment_id: int) -> Step | None:
    """Give a candidate up (it is never offered to this annotator again) and get the next question."""
    refusal: ApplicationError | None = None
    steps: list[Step] = []
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
        if assignment is None or assignment.annotator_id != annotator.pk:
            refusal = NotAllowed("This assignment is not yours.")
        elif assignment.status != Assignment.Status.LEASED:
            refusal = Conflict(f"This lease is {assignment.status}.")
        else:
            _lock_item(assignment.candidate_id)
            _finish(assignment, Assignment.Status.SKIPPED, timezone.now())
            _recompute(assignment.candidate_id, _questions(), annotator_id=annotator.pk)
            steps = _steps(annotator, 1)
    if refusal is not None:
        raise refusal
    return steps[0] if steps else None


def assignments_release(*, annotator: Any, leases: list[tuple[int, str]]) -> int:
    """Give back the annotator's leases named with their release tokens (``lease_release_token``): their page was
    left. Returns how many ended now (status ``released``; each gives its slot back at once instead of holding it
    until the lease expires). Like an expired lease, the candidate is not offered to this annotator again, and
    the answers already given stay.

    Idempotent: a lease that has ended already (answered, skipped, expired, released) is left as it is. Any token
    that is not this annotator's for that lease raises ``NotAllowed`` before anything is written.
    """
    for assignment_id, token in leases:
        if not lease_release_token_valid(assignment_id=assignment_id, annotator_id=annotator.pk, token=token):
            raise NotAllowed(f"The release token of assignment {assignment_id} is not valid for you.")
    released = 0
    questions = _questions()
    with transaction.atomic():
        now = timezone.now()
        # Lock order as every writer of a lease: the lease, then its queue item.
        for assignment_id in sorted({assignment_id for assignment_id, _token in leases}):
            assignment = (
                Assignment.objects.select_for_update()
                .filter(pk=assignment_id, annotator_id=annotator.pk, status=Assignment.Status.LEASED)
                .first()
            )
            if assignment is None:
                continue
            _lock_item(assignment.candidate_id)
            if _finish(assignment, Assignment.Status.RELEASED, now):
                _recompute(assignment.candidate_id, questions, annotator_id=annotator.pk)
                released += 1
    return released


def answer_undo(*, annotator: Any) -> Step | None:
    """Take back one's last answer (within the undo window) and be asked that question again."""
    with transaction.atomic():
        now = timezone.now()
        answer = Answer.objects.filter(annotator=annotator).order_by("-created_at", "-pk").first()
        if answer is not None and now - answer.created_at <= undo_window():
            return _answer_undo(annotator, answer, now)
    raise Conflict("There is no answer of yours to undo (answers can be undone for two minutes).")


def _answer_undo(annotator: Any, answer: Answer, now: dt.datetime) -> Step | None:
    """The undo of ``answer`` in the caller's transaction."""
    assignment = Assignment.objects.select_for_update().get(pk=answer.assignment_id)
    item = _lock_item(answer.candidate_id)
    if item is not None and item.is_gold:
        _score_gold(annotator, answer.candidate_id, answer.question, answer.value, sign=-1)
    answer.delete()
    AnnotatorProfile.objects.filter(
        user=annotator, answered_on=answer.created_at.astimezone(dt.UTC).date(), answered_that_day__gt=0
    ).update(answered_that_day=F("answered_that_day") - 1)
    if assignment.status != Assignment.Status.LEASED:
        assignment.status = Assignment.Status.LEASED
        assignment.finished_at = None
        QueueItem.objects.filter(candidate_id=assignment.candidate_id).update(in_flight=F("in_flight") + 1)
    assignment.lease_expires_at = now + _lease()
    assignment.save(update_fields=["status", "finished_at", "lease_expires_at"])
    questions = _questions()
    _recompute(assignment.candidate_id, questions, annotator_id=annotator.pk)
    question = _current_question(assignment, questions)
    if question is not None:
        return Step(assignment, question)
    steps = _steps(annotator, 1)
    return steps[0] if steps else None
