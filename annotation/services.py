"""Annotation writes: filling the queue, claiming work under a lease, answers, skip, undo and consolidation.

The algorithm (see docs/annotation.md for a worked example):

* An annotator takes a *candidate* (a pass), never the same one twice, under a lease. Within the pass they are
  asked the candidate's questions in order, starting at the first question whose consolidated answer is not
  settled; questions already settled Yes are skipped; their pass ends at their first No, or at the last question.
* Each question is consolidated by majority under adaptive overlap (two agreeing answers settle it; a
  disagreement asks for a third). A question settled No closes the candidate: later questions are never asked.
* ``QueueItem.wanted`` is how many more annotators the first unsettled question needs; a candidate can be
  claimed while fewer leases than that are in flight. So a disagreement on an early question reopens the
  candidate for one more annotator, who starts at that question and walks on through the later ones.
* Claiming is ``SELECT ... FOR UPDATE SKIP LOCKED`` over the open queue ordered by priority (PostgreSQL), so
  concurrent annotators never wait for each other nor get the same slot; leases that expire give their slot back.
* Gold candidates (known answers from ingest) are mixed in at ``GOLD_RATE``, look like any other, stay open for
  every annotator and never change their labels; answers to them score the annotator, who is flagged (and by
  default paused and left out of consolidation) under ``GOLD_MIN_ACCURACY``.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.maths.consolidation import majority
from annotation.models import (
    AnnotatorProfile,
    Answer,
    Assignment,
    ConsolidatedLabel,
    NewLabelCount,
    Question,
    QueueItem,
)
from knowledge.errors import ApplicationError, Conflict, NotAllowed
from knowledge.models import Candidate

GOLD_WANTED = 32_000  # gold candidates stay open for every annotator


def _conf(name: str) -> Any:
    return settings.PLAUSI_ANNOTATION[name]


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=_conf("LEASE_SECONDS"))


def undo_window() -> dt.timedelta:
    return dt.timedelta(seconds=_conf("UNDO_SECONDS"))


@dataclass(frozen=True)
class Step:
    """What the annotator is asked now: a question of a leased candidate (or nothing: the queue is empty)."""

    assignment: Assignment
    question: Question


# --- the queue ----------------------------------------------------------------------------------------------


def queue_fill(*, limit: int | None = None, gold_from_known_labels: bool = True) -> int:
    """Put pooled candidates that are not queued yet into the queue (set-based); returns how many were added.

    Candidates with known answers become gold questions unless ``gold_from_known_labels`` is off (a simulation
    or an evaluation set uses the known answers as the truth to annotate, not to test annotators).
    """
    no_labels = "'{}'::jsonb" if connection.vendor == "postgresql" else "'{}'"
    gold = f"(c.known_labels IS NOT NULL AND c.known_labels <> {no_labels})" if gold_from_known_labels else "false"
    sql = (
        "INSERT INTO annotation_queueitem (candidate_id, state, priority, wanted, in_flight, is_gold, created_at, "
        f"updated_at) SELECT c.id, 'open', 0, CASE WHEN {gold} THEN %s ELSE %s END, 0, {gold}, %s, %s "
        "FROM knowledge_candidate c WHERE c.status = 'pooled' "
        "AND NOT EXISTS (SELECT 1 FROM annotation_queueitem q WHERE q.candidate_id = c.id) ORDER BY c.id"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = [GOLD_WANTED, _conf("MIN_ANSWERS"), now, now]
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


_QUESTIONS_TTL_SECONDS = 10.0
_questions_cache: tuple[float, list[Question]] = (0.0, [])


def _questions() -> list[Question]:
    """The active questions in order, cached per process for a few seconds (they change only by admin edits,
    and the answer path would otherwise read them several times per request)."""
    global _questions_cache
    loaded_at, questions = _questions_cache
    now = time.monotonic()
    if now - loaded_at > _QUESTIONS_TTL_SECONDS or not questions:
        questions = list(Question.objects.filter(is_active=True).order_by("order"))
        _questions_cache = (now, questions)
    return questions


def questions_cache_clear() -> None:
    global _questions_cache
    _questions_cache = (0.0, [])


def _expire_leases(now: dt.datetime) -> None:
    """Give the slots of lapsed leases back (their answers stay; the annotator will not get the candidate again)."""
    expired = list(
        Assignment.objects.filter(status=Assignment.Status.LEASED, lease_expires_at__lt=now).values_list(
            "pk", "candidate_id"
        )[:500]
    )
    if not expired:
        return
    ids = [pk for pk, _ in expired]
    changed = Assignment.objects.filter(pk__in=ids, status=Assignment.Status.LEASED).update(
        status=Assignment.Status.EXPIRED, finished_at=now
    )
    if changed:
        for _pk, candidate_id in expired:
            QueueItem.objects.filter(candidate_id=candidate_id, in_flight__gt=0).update(in_flight=F("in_flight") - 1)


def _walk(questions: list[Question], own: dict[int, bool], settled: dict[int, bool | None]) -> Question | None:
    """The question a pass asks, given the annotator's own answers and the settled labels (pure)."""
    for question in questions:
        if question.pk in own:
            if own[question.pk] is False:
                return None
            continue
        value = settled.get(question.pk)
        if value is True:
            continue
        if value is False:
            return None
        return question
    return None


def _pass_state(assignment: Assignment, *, gold: bool) -> tuple[dict[int, bool], dict[int, bool | None]]:
    """The annotator's own answers on the candidate and its settled labels (none for gold: see below)."""
    own = dict(
        Answer.objects.filter(candidate_id=assignment.candidate_id, annotator_id=assignment.annotator_id).values_list(
            "question_id", "value"
        )
    )
    settled: dict[int, bool | None] = (
        {}
        if gold
        else dict(
            ConsolidatedLabel.objects.filter(candidate_id=assignment.candidate_id).values_list("question_id", "value")
        )
    )
    return own, settled


def _current_question(
    assignment: Assignment, questions: list[Question], *, gold: bool | None = None
) -> Question | None:
    """The question this pass asks now, or None when the pass is over (see the module docstring).

    On a gold candidate every question is asked in order until the annotator's first No: settled labels are
    the known answers there, and skipping them would tell the annotator that the candidate is gold.
    """
    if gold is None:
        gold = QueueItem.objects.filter(candidate_id=assignment.candidate_id, is_gold=True).exists()
    return _walk(questions, *_pass_state(assignment, gold=gold))


def _recompute(candidate_id: int, questions: list[Question], item: QueueItem | None = None) -> QueueItem:
    """Consolidate every question of a candidate and decide whether it needs more annotators or is labelled.

    Caller holds the queue item's row lock.
    """
    if item is None:
        item = QueueItem.objects.get(candidate_id=candidate_id)
    if item.is_gold:
        return _recompute_gold(item, questions)
    was_closed = item.state == QueueItem.State.CLOSED
    counts: dict[int, list[int]] = {}
    answers = Answer.objects.filter(candidate_id=candidate_id).exclude(annotator__annotator_profile__excluded=True)
    for question_id, value in answers.values_list("question_id", "value"):
        counts.setdefault(question_id, [0, 0])[0 if value else 1] += 1
    stored = {label.question_id: label for label in ConsolidatedLabel.objects.filter(candidate_id=candidate_id)}
    now = timezone.now()
    wanted = 0
    closed = False
    for question in questions:
        yes, no = counts.get(question.pk, (0, 0))
        result = majority(yes, no, min_answers=_conf("MIN_ANSWERS"), max_answers=_conf("MAX_ANSWERS"))
        label = stored.get(question.pk)
        if result.value is not None and (label is None or label.value is None):
            _count_new_label(question)
        if (yes or no) and (label is None or (label.yes, label.no, label.method) != (yes, no, "majority")):
            ConsolidatedLabel.objects.update_or_create(
                candidate_id=candidate_id,
                question=question,
                defaults={
                    "value": result.value,
                    "confidence": result.confidence,
                    "yes": yes,
                    "no": no,
                    "method": "majority",
                    "updated_at": now,
                },
            )
        elif not (yes or no) and label is not None:
            label.delete()
        if result.value is True:
            continue
        if result.value is False or not result.needs_more:
            closed = True
        else:
            remaining = (_conf("MIN_ANSWERS") if no == 0 or yes == 0 else _conf("MAX_ANSWERS")) - (yes + no)
            # Leases whose annotator already answered this question are walking later ones: they hold no slot.
            walking_on = Assignment.objects.filter(
                candidate_id=candidate_id,
                status=Assignment.Status.LEASED,
                annotator__answers__candidate_id=candidate_id,
                annotator__answers__question=question,
            ).count()
            wanted = remaining + walking_on
        break
    else:
        closed = True
    item.wanted = 0 if closed else max(wanted, 0)
    item.in_flight = min(item.in_flight, item.wanted) if closed else item.in_flight
    item.state = QueueItem.State.CLOSED if closed and item.in_flight == 0 else QueueItem.State.OPEN
    item.updated_at = now
    item.save(update_fields=["wanted", "in_flight", "state", "updated_at"])
    if item.state == QueueItem.State.CLOSED and not was_closed:
        Candidate.objects.filter(pk=candidate_id, status=Candidate.Status.IN_ANNOTATION).update(
            status=Candidate.Status.LABELLED, updated_at=now
        )
    elif item.state == QueueItem.State.OPEN and was_closed:
        Candidate.objects.filter(pk=candidate_id, status=Candidate.Status.LABELLED).update(
            status=Candidate.Status.IN_ANNOTATION, updated_at=now
        )
    return item


def _count_new_label(question: Question) -> None:
    updated = NewLabelCount.objects.filter(question=question).update(count=F("count") + 1, updated_at=timezone.now())
    if not updated:
        counter, _ = NewLabelCount.objects.get_or_create(question=question)
        NewLabelCount.objects.filter(pk=counter.pk).update(count=F("count") + 1)


def _recompute_gold(item: QueueItem, questions: list[Question]) -> QueueItem:
    """Gold candidates keep their known answers as labels and stay open for every annotator."""
    known = Candidate.objects.values_list("known_labels", flat=True).get(pk=item.candidate_id) or {}
    for question in questions:
        if question.slug in known:
            ConsolidatedLabel.objects.update_or_create(
                candidate_id=item.candidate_id,
                question=question,
                defaults={"value": bool(known[question.slug]), "confidence": 1.0, "method": "gold"},
            )
    return item


def _score_gold(annotator: Any, candidate_id: int, question: Question, value: bool, *, sign: int = 1) -> None:
    """Update the annotator's gold accuracy; flag (and pause/exclude, as configured) under the threshold.

    ``sign=-1`` takes an undone answer back out of the record.
    """
    known = Candidate.objects.values_list("known_labels", flat=True).get(pk=candidate_id) or {}
    if question.slug not in known:
        return
    profile, _ = AnnotatorProfile.objects.select_for_update().get_or_create(user=annotator)
    profile.gold_total += sign
    profile.gold_correct += sign * int(bool(known[question.slug]) == value)
    accuracy = profile.gold_correct / profile.gold_total if profile.gold_total else 1.0
    if profile.gold_total >= _conf("GOLD_MIN_ANSWERS") and accuracy < _conf("GOLD_MIN_ACCURACY"):
        profile.flagged = True
        profile.paused = profile.paused or bool(_conf("PAUSE_FLAGGED"))
        profile.excluded = profile.excluded or bool(_conf("EXCLUDE_FLAGGED"))
    profile.updated_at = timezone.now()
    profile.save()


def annotator_is_paused(annotator: Any) -> bool:
    return AnnotatorProfile.objects.filter(user=annotator, paused=True).exists()


def _claim(annotator: Any, now: dt.datetime) -> tuple[Assignment, bool] | None:
    """Lease the highest-priority open candidate with a free slot that this annotator has never had.

    A gold candidate is offered instead with probability ``GOLD_RATE`` (when one is left for this annotator).
    """
    lock = " FOR UPDATE OF q SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        "SELECT q.candidate_id FROM annotation_queueitem q WHERE q.state = 'open' AND q.is_gold = %s "
        "AND q.in_flight < q.wanted AND NOT EXISTS (SELECT 1 FROM annotation_assignment a "
        "WHERE a.candidate_id = q.candidate_id AND a.annotator_id = %s) "
        "ORDER BY q.priority DESC, q.candidate_id LIMIT 1" + lock
    )
    want_gold = random.random() < float(_conf("GOLD_RATE"))
    row = None
    gold = want_gold
    with connection.cursor() as cursor:
        for gold in (want_gold, not want_gold):
            cursor.execute(sql, [gold, annotator.pk])
            row = cursor.fetchone()
            if row is not None:
                break
    if row is None:
        return None
    candidate_id = row[0]
    QueueItem.objects.filter(candidate_id=candidate_id).update(in_flight=F("in_flight") + 1, updated_at=now)
    Candidate.objects.filter(pk=candidate_id, status=Candidate.Status.POOLED).update(
        status=Candidate.Status.IN_ANNOTATION, updated_at=now
    )
    assignment = Assignment.objects.create(
        candidate_id=candidate_id, annotator=annotator, lease_expires_at=now + _lease()
    )
    return assignment, gold


def _finish(assignment: Assignment, status: str, now: dt.datetime) -> None:
    assignment.status = status
    assignment.finished_at = now
    assignment.save(update_fields=["status", "finished_at"])
    QueueItem.objects.filter(candidate_id=assignment.candidate_id, in_flight__gt=0).update(
        in_flight=F("in_flight") - 1, updated_at=now
    )


def _steps(annotator: Any, count: int) -> list[Step]:
    """Up to ``count`` steps: the annotator's open leases, oldest first, then newly claimed candidates."""
    now = timezone.now()
    _expire_leases(now)
    if annotator_is_paused(annotator):
        return []
    questions = _questions()
    steps: list[Step] = []
    for assignment in (
        Assignment.objects.select_for_update()
        .filter(annotator=annotator, status=Assignment.Status.LEASED)
        .order_by("created_at", "pk")
    ):
        question = _current_question(assignment, questions)
        if question is not None:
            if len(steps) < count:
                steps.append(Step(assignment, question))
            continue
        _finish(assignment, Assignment.Status.DONE, now)
        item = QueueItem.objects.select_for_update().get(candidate_id=assignment.candidate_id)
        _recompute(item.candidate_id, questions)
    while len(steps) < count:
        found = _claim(annotator, now)
        if found is None:
            break
        claimed, claimed_gold = found
        question = _current_question(claimed, questions, gold=claimed_gold)
        if question is not None:
            steps.append(Step(claimed, question))
        else:
            _finish(claimed, Assignment.Status.DONE, now)  # settled meanwhile: nothing to ask
    return steps


@transaction.atomic
def assignment_next(*, annotator: Any) -> Step | None:
    """The annotator's current question: their oldest open lease, else a newly claimed candidate."""
    steps = _steps(annotator, 1)
    return steps[0] if steps else None


@transaction.atomic
def assignment_next_with_prefetch(*, annotator: Any) -> tuple[Step | None, Step | None]:
    """The current question and the first question of the annotator's next candidate, leased ahead.

    The UI shows the prefetched question the moment the current pass ends (a No, or the last question), so a
    steady annotator never waits for the server; the prefetch lease is an ordinary lease (it holds one slot).
    """
    steps = _steps(annotator, 2)
    return (steps[0] if steps else None, steps[1] if len(steps) > 1 else None)


def _own_assignment(annotator: Any, assignment_id: int) -> Assignment:
    assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None or assignment.annotator_id != annotator.pk:
        raise NotAllowed("This assignment is not yours.")
    return assignment


@dataclass(frozen=True)
class AnswerResult:
    answer: Answer
    created: bool
    next_step: Step | None
    prefetch: Step | None


@transaction.atomic
def answer_submit(
    *,
    annotator: Any,
    assignment_id: int,
    question_slug: str,
    value: bool,
    idempotency_key: str,
    seconds: float | None = None,
) -> AnswerResult:
    """Store an answer to the current question of one's own lease and move on; a retried key is stored once."""
    if not idempotency_key or len(idempotency_key) > 64:
        raise ApplicationError("An idempotency key of 1 to 64 characters is required.")
    existing = Answer.objects.filter(annotator=annotator, idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.assignment_id != assignment_id or existing.value != value:
            raise Conflict("This idempotency key was already used for another answer.")
        return AnswerResult(existing, False, *assignment_next_with_prefetch(annotator=annotator))
    assignment = _own_assignment(annotator, assignment_id)
    now = timezone.now()
    if assignment.status != Assignment.Status.LEASED:
        raise Conflict(f"This lease is {assignment.status}; ask for the next question.")
    questions = _questions()
    item = QueueItem.objects.select_for_update().get(candidate_id=assignment.candidate_id)
    own, settled = _pass_state(assignment, gold=item.is_gold)
    question = _walk(questions, own, settled)
    if question is None or question.slug != question_slug:
        raise Conflict("That is not the question this lease is asking now; ask for the next question.")
    try:
        with transaction.atomic():
            answer = Answer.objects.create(
                assignment=assignment,
                candidate_id=assignment.candidate_id,
                question=question,
                annotator=annotator,
                value=value,
                idempotency_key=idempotency_key,
                seconds=seconds,
            )
    except IntegrityError as exc:
        raise Conflict("This question was already answered.") from exc
    if item.is_gold:
        _score_gold(annotator, assignment.candidate_id, question, value)
    assignment.lease_expires_at = now + _lease()
    assignment.save(update_fields=["lease_expires_at"])
    own[question.pk] = value
    if _walk(questions, own, settled) is None:
        _finish(assignment, Assignment.Status.DONE, now)
    _recompute(item.candidate_id, questions)  # re-reads the row: _finish changed in_flight in the database
    return AnswerResult(answer, True, *assignment_next_with_prefetch(annotator=annotator))


@transaction.atomic
def assignment_skip(*, annotator: Any, assignment_id: int) -> Step | None:
    """Give a candidate up (it is never offered to this annotator again) and get the next question."""
    assignment = _own_assignment(annotator, assignment_id)
    if assignment.status != Assignment.Status.LEASED:
        raise Conflict(f"This lease is {assignment.status}.")
    QueueItem.objects.select_for_update().get(candidate_id=assignment.candidate_id)
    _finish(assignment, Assignment.Status.SKIPPED, timezone.now())
    _recompute(assignment.candidate_id, _questions())
    return assignment_next(annotator=annotator)


@transaction.atomic
def answer_undo(*, annotator: Any) -> Step | None:
    """Take back one's last answer (within the undo window) and be asked that question again."""
    now = timezone.now()
    answer = Answer.objects.filter(annotator=annotator).order_by("-created_at", "-pk").first()
    if answer is None or now - answer.created_at > undo_window():
        raise Conflict("There is no answer of yours to undo (answers can be undone for two minutes).")
    assignment = Assignment.objects.select_for_update().get(pk=answer.assignment_id)
    QueueItem.objects.select_for_update().get(candidate_id=answer.candidate_id)
    if QueueItem.objects.filter(candidate_id=answer.candidate_id, is_gold=True).exists():
        _score_gold(annotator, answer.candidate_id, answer.question, answer.value, sign=-1)
    answer.delete()
    if assignment.status != Assignment.Status.LEASED:
        assignment.status = Assignment.Status.LEASED
        assignment.finished_at = None
        QueueItem.objects.filter(candidate_id=assignment.candidate_id).update(in_flight=F("in_flight") + 1)
    assignment.lease_expires_at = now + _lease()
    assignment.save(update_fields=["status", "finished_at", "lease_expires_at"])
    _recompute(assignment.candidate_id, _questions())
    question = _current_question(assignment, _questions())
    return Step(assignment, question) if question is not None else assignment_next(annotator=annotator)
