"""Which question an annotator is asked now: their open leases, oldest first, then newly claimed candidates.

The question a pass asks is decided by ``annotation.maths.passes.pass_question`` over the active questions' ids;
this module feeds it each lease's state and claims (and finishes) leases around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from annotation.maths.passes import pass_question
from annotation.models import Assignment, Question, QueueItem
from annotation.services import leases
from annotation.services.consolidation import _recompute
from annotation.services.leases import _assignment, _claim, _finish, leases_expire
from annotation.services.questions import _questions
from annotation.services.reading import _CandidateState, _Label, _load_states, _lock_item, _read, _Reading


@dataclass(frozen=True)
class Step:
    """What the annotator is asked now: a question of a leased candidate (or nothing: the queue is empty)."""

    assignment: Assignment
    question: Question
    settled_yes: frozenset[int] | None = None  # questions settled Yes (None: not read yet)
    context_row: tuple[Any, ...] | None = None  # the candidate's CONTEXT_SELECT row, when the claim read it


def _walk(
    questions: list[Question], own: dict[int, bool], settled: dict[int, bool | None], *, gold: bool = False
) -> Question | None:
    """The question a pass asks, given the annotator's own answers and the settled labels (``pass_question``)."""
    asked = pass_question([question.pk for question in questions], own, settled, gold=gold)
    return None if asked is None else next(question for question in questions if question.pk == asked)


def _current_question(
    assignment: Assignment, questions: list[Question], *, gold: bool | None = None
) -> Question | None:
    """The question this pass asks now, or None when the pass is over (gold: see ``pass_question``)."""
    if gold is None:
        gold = QueueItem.objects.filter(candidate_id=assignment.candidate_id, is_gold=True).exists()
    state = _load_states([assignment.candidate_id], annotator_id=assignment.annotator_id)[assignment.candidate_id]
    return _walk(questions, state.own(assignment.annotator_id), state.settled(), gold=gold)


def _steps(annotator: Any, count: int, *, reading: _Reading | None = None) -> list[Step]:
    """Up to ``count`` steps: the annotator's open leases, oldest first, then newly claimed candidates.

    ``reading`` is the annotator's leases, their candidates' states and paused flag as the caller holds them
    (the answer path passes what it read and wrote); without it they are read here, in one statement.
    """
    now = timezone.now()
    questions = _questions()
    if reading is None:
        reading = _read([], annotator_id=annotator.pk, with_leases=True)
    if reading.paused:
        return []
    steps: list[Step] = []
    for lease in reading.leases or []:
        state = reading.states.get(lease.candidate_id) or _CandidateState()
        assignment = _assignment(lease.assignment_id, lease.candidate_id, annotator.pk, lease.expires)
        question = _walk(questions, state.own(annotator.pk), state.settled(), gold=lease.is_gold)
        if question is not None:
            if len(steps) < count:
                steps.append(Step(assignment, question, state.settled_yes()))
            continue
        # Settled meanwhile: nothing left to ask. Finish it unless someone is consolidating the candidate right
        # now (never wait for that lock here: it would order locks against the answer path); a later request will.
        candidate_id = lease.candidate_id
        if _lock_item(candidate_id, skip_locked=True) is not None and _finish(assignment, Assignment.Status.DONE, now):
            _recompute(candidate_id, questions, annotator_id=annotator.pk)
    if len(steps) < count and leases._sweep_due():
        leases_expire(now=now)
    while len(steps) < count:
        claimed = _claim(annotator, now)
        if claimed is None and leases_expire(now=now):
            claimed = _claim(annotator, now)  # lapsed leases gave slots back
        if claimed is None:
            break
        if claimed.gold:
            state = _CandidateState()  # a new pass on gold asks every question in order (see pass_question)
        elif claimed.labels is None:
            state = _load_states([claimed.assignment.candidate_id], annotator_id=annotator.pk)[
                claimed.assignment.candidate_id
            ]
        else:
            state = _CandidateState(
                labels={question: _Label(value, 0, 0, "") for question, value in claimed.labels.items()}
            )
        question = _walk(questions, {}, state.settled(), gold=claimed.gold)
        if question is not None:
            steps.append(Step(claimed.assignment, question, state.settled_yes(), claimed.context_row))
        else:
            _finish(claimed.assignment, Assignment.Status.DONE, now)  # settled meanwhile: nothing to ask
    return steps


def assignment_next(*, annotator: Any) -> Step | None:
    """The annotator's current question: their oldest open lease, else a newly claimed candidate."""
    with transaction.atomic():
        steps = _steps(annotator, 1)
    return steps[0] if steps else None


def _held_steps(annotator: Any, reading: _Reading, count: int) -> list[Step] | None:
    """``count`` steps from the annotator's open leases alone when they need no write: every lease still has a
    question to ask (none to finish) and there are at least ``count`` of them (none to claim). None otherwise:
    ``_steps`` then does the writes, in a transaction."""
    questions = _questions()
    steps: list[Step] = []
    for lease in reading.leases or []:
        state = reading.states.get(lease.candidate_id) or _CandidateState()
        question = _walk(questions, state.own(annotator.pk), state.settled(), gold=lease.is_gold)
        if question is None:
            return None
        if len(steps) < count:
            assignment = _assignment(lease.assignment_id, lease.candidate_id, annotator.pk, lease.expires)
            steps.append(Step(assignment, question, state.settled_yes()))
    return steps if len(steps) == count else None


class NextSteps(NamedTuple):
    """What ``next`` answers: the current step, the next candidate's first step (leased ahead), and the
    annotator's answers of today (read with their leases, for the progress shown beside the question)."""

    step: Step | None
    prefetch: Step | None
    answered_today: int


def assignment_next_with_prefetch(*, annotator: Any) -> NextSteps:
    """The current question and the first question of the annotator's next candidate, leased ahead.

    The UI shows the prefetched question the moment the current pass ends (a No, or the last question), so a
    steady annotator never waits for the server; the prefetch lease is an ordinary lease (it holds one slot).

    The annotator's leases and their candidates are read first, in one statement of its own: when both steps are
    leases already held (what a script that asks for ``next`` after every answer meets most of the time) that is
    all, and no transaction is begun (its BEGIN and COMMIT were two of a ``next``'s five round trips). Otherwise a
    transaction finishes what was settled meanwhile and claims what is missing, from that reading (which, read
    inside the transaction, would be no fresher: nothing was locked by it, and every write re-checks under its
    locks).
    """
    reading = _read([], annotator_id=annotator.pk, with_leases=True)
    steps = [] if reading.paused else _held_steps(annotator, reading, 2)
    if steps is None:
        with transaction.atomic():
            steps = _steps(annotator, 2, reading=reading)
    return NextSteps(steps[0] if steps else None, steps[1] if len(steps) > 1 else None, reading.answered_today)
