"""The answer path: store an answer to the current question of one's own lease, consolidate, and move on.

A retried submit (the same idempotency key) is stored once and answered with the stored answer and the
annotator's next steps as they are now.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from annotation import sql
from annotation.models import Assignment
from annotation.services.common import _known_labels, _lease, _ts
from annotation.services.consolidation import Write, _run_writes, _settle
from annotation.services.gold import _profile_write
from annotation.services.questions import _questions
from annotation.services.reading import _CandidateState, _Item, _lock_and_read
from annotation.services.steps import Step, _steps, _walk
from core.errors import ApplicationError, Conflict, NotAllowed
from core.plans import generic_plans_for_this_transaction


@dataclass(frozen=True)
class AnswerResult:
    answer_id: int
    created: bool
    next_step: Step | None
    prefetch: Step | None
    answered_today: int | None = None  # known when the answer was stored now (None: read it from the profile)


def _answer_by_key(annotator: Any, idempotency_key: str) -> tuple[int, int, bool] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql.ANSWER_BY_KEY, [annotator.pk, idempotency_key])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], bool(row[2]))


def _replay(
    annotator: Any, assignment_id: int, value: bool, existing: tuple[int, int, bool]
) -> AnswerResult | _Refused:
    """A retried submit: the stored answer, and the annotator's next steps as they are now."""
    answer_id, stored_assignment, stored_value = existing
    if stored_assignment != assignment_id or stored_value != value:
        return _Refused(Conflict("This idempotency key was already used for another answer."))
    steps = _steps(annotator, 2)
    return AnswerResult(answer_id, False, steps[0] if steps else None, steps[1] if len(steps) > 1 else None)


def _replay_or_refuse(
    annotator: Any, assignment_id: int, value: bool, idempotency_key: str, refusal: ApplicationError
) -> AnswerResult | _Refused:
    """For a submit that cannot store its answer: replay the answer already stored under its key, else refuse.

    The key is read again here, in a statement of its own, because a retry racing its first attempt may have
    waited for the lease lock while that attempt stored the answer (and ended the pass, or moved it on): the
    earlier statement's snapshot did not see that answer."""
    existing = _answer_by_key(annotator, idempotency_key)
    if existing is None:
        return _Refused(refusal)
    return _replay(annotator, assignment_id, value, existing)


@dataclass(frozen=True)
class _Refused:
    """A refusal decided before the transaction wrote anything (it only read and locked): the transaction commits
    and ``answer_submit`` raises ``error`` after it. Raised inside, the refusal would roll the transaction back,
    and psycopg answers a rollback by dropping every prepared statement of the connection (``DEALLOCATE ALL``),
    so the next requests on it would parse and plan the whole answer path again (docs/annotation.md)."""

    error: ApplicationError


class _AnswerNotStored(Exception):
    """The answer's INSERT found its key (or its question) taken by a concurrent request; the transaction that
    wrote the rest of the answer is rolled back."""


def answer_submit(
    *,
    annotator: Any,
    assignment_id: int,
    question_slug: str,
    value: bool,
    idempotency_key: str,
    seconds: float | None = None,
) -> AnswerResult:
    """Store an answer to the current question of one's own lease and move on; a retried key is stored once.

    One transaction of two statements (three when it leases a new candidate), whatever the pool size: lock the
    lease and its queue item and read the candidate's answers, labels and lease holders with the annotator's
    leases, paused flag and exclusion (``_lock_and_read``; read again when another answer committed while this one
    waited for the lock); insert the answer and write the consolidation in one statement; then claim a new
    candidate if the response's next and prefetched steps need one. A retry of a stored key costs one more
    statement (the key's answer, replayed). On PostgreSQL the transaction first asks for generic plans
    (``core.plans``: one short ``SET LOCAL``), so that the prepared lock-and-read is not planned again at every
    answer.
    """
    if not idempotency_key or len(idempotency_key) > 64:
        raise ApplicationError("An idempotency key of 1 to 64 characters is required.")
    outcome: AnswerResult | _Refused
    try:
        with transaction.atomic():
            generic_plans_for_this_transaction()  # the lock-and-read would be planned again at every answer
            outcome = _answer_submit(annotator, assignment_id, question_slug, value, idempotency_key, seconds)
    except _AnswerNotStored:
        # a concurrent retry of the same key won the race: answer with what it stored
        with transaction.atomic():
            refusal = Conflict("This question was already answered.")
            outcome = _replay_or_refuse(annotator, assignment_id, value, idempotency_key, refusal)
    if isinstance(outcome, _Refused):
        raise outcome.error
    return outcome


def _answer_submit(
    annotator: Any, assignment_id: int, question_slug: str, value: bool, idempotency_key: str, seconds: float | None
) -> AnswerResult | _Refused:
    """The answer in the caller's transaction; every refusal is decided before the first write and returned."""
    reading = _lock_and_read(assignment_id, annotator_id=annotator.pk)
    locked = reading.locked
    if locked is None:
        return _replay_or_refuse(
            annotator, assignment_id, value, idempotency_key, NotAllowed("This assignment is not yours.")
        )
    if locked.owner_id != annotator.pk:
        return _Refused(NotAllowed("This assignment is not yours."))
    # A retried submit is not looked up here: its answer, once stored, ended the pass or moved it to a later
    # question, so the checks below send it to _replay_or_refuse, which replays it; a retry racing its first
    # attempt loses at the INSERT (_AnswerNotStored). Looking the key up on every answer cost a read of the
    # annotator's answers whenever the planner's statistics predate the annotator (PLAN_STABLE_JOINS).
    if locked.status != Assignment.Status.LEASED:
        refusal = Conflict(f"This lease is {locked.status}; ask for the next question.")
        return _replay_or_refuse(annotator, assignment_id, value, idempotency_key, refusal)
    candidate_id, known, excluded = locked.candidate_id, locked.known, locked.excluded
    item = _Item(candidate_id, locked.is_gold, locked.item_state, locked.wanted, locked.in_flight)
    questions = _questions()
    state = reading.states.setdefault(candidate_id, _CandidateState())
    own = state.own(annotator.pk)
    settled = state.settled()
    question = _walk(questions, own, settled, gold=item.is_gold)
    if question is None or question.slug != question_slug:
        refusal = Conflict("That is not the question this lease is asking now; ask for the next question.")
        return _replay_or_refuse(annotator, assignment_id, value, idempotency_key, refusal)
    now = timezone.now()
    gold_known = _known_labels(known) if item.is_gold else None
    gold_correct = (
        bool(gold_known[question.slug]) == value if gold_known is not None and question.slug in gold_known else None
    )
    state.answers.append((annotator.pk, question.pk, value, bool(excluded)))
    own[question.pk] = value
    pass_over = _walk(questions, own, settled, gold=item.is_gold) is None
    expires = now + _lease()
    writes: list[Write] = [
        (
            # under the locks held, only a concurrent retry of this key can conflict (see _AnswerNotStored)
            sql.ANSWER_INSERT,
            [assignment_id, candidate_id, question.pk, annotator.pk, value, idempotency_key, seconds, _ts(now)],
        ),
        (
            sql.LEASE_DONE if pass_over else sql.LEASE_RENEW,
            [_ts(now) if pass_over else None, _ts(expires), assignment_id],
        ),
        _profile_write(annotator.pk, now, gold_correct=gold_correct),
    ]
    if pass_over:
        item.in_flight = max(item.in_flight - 1, 0)
        if annotator.pk in state.leased:
            state.leased.remove(annotator.pk)
    _settle(item, state, questions, now, known=gold_known, writes=writes)
    answer_id, answered_today = _run_writes(writes, results=(0, 2))
    if answer_id is None:
        raise _AnswerNotStored
    # The annotator's leases as this transaction left them: the answered one ended, or renewed.
    assert reading.leases is not None
    reading.leases = [
        dataclasses.replace(lease, expires=expires) if lease.assignment_id == assignment_id else lease
        for lease in reading.leases
        if not (pass_over and lease.assignment_id == assignment_id)
    ]
    steps = _steps(annotator, 2, reading=reading)
    return AnswerResult(
        answer_id,
        True,
        steps[0] if steps else None,
        steps[1] if len(steps) > 1 else None,
        answered_today=int(answered_today or 0),
    )
