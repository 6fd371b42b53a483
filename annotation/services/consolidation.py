"""Consolidation: a candidate's labels, its queue item and its status, written from its answers.

The decision is pure (``annotation.maths.overlap`` for ordinary candidates; gold candidates keep their known
answers); this module turns it into set-based writes, which the answer path sends with its own in one statement
(``_run_writes``). The caller always holds the candidate's queue item lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils import timezone

from annotation import sql
from annotation.maths.overlap import overlap_decide
from annotation.models import Question, QueueItem
from annotation.services.common import _conf, _conf_or_default, _gate_conf, _known_labels, _ts
from annotation.services.reading import _CandidateState, _Item, _Label, _load_states, _lock_item
from knowledge.selectors import candidate_known_labels

Write = tuple[str, list[Any]]


def _run_writes(writes: list[Write], *, results: tuple[int, ...] = ()) -> list[Any]:
    """Execute write statements that touch different rows. On PostgreSQL they go as one statement of
    data-modifying CTEs (one round trip, one plan each once prepared); elsewhere one after the other.
    ``results`` are indexes of writes whose RETURNING row's first column comes back (None for no row), in order.
    """
    if not writes:
        return [None for _ in results]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            params = [value for _, values in writes for value in values]
            cursor.execute(sql.writes_statement([statement for statement, _ in writes], results), params)
            row = cursor.fetchone()
            return list(row[: len(results)]) if row else [None for _ in results]
        values: dict[int, Any] = {}
        for i, (statement, params) in enumerate(writes):
            cursor.execute(statement, params)
            if i in results:
                row = cursor.fetchone()
                values[i] = row[0] if row else None
        return [values[i] for i in results]


def _settle(
    item: _Item,
    state: _CandidateState,
    questions: list[Question],
    now: dt.datetime,
    *,
    known: dict[str, Any] | None = None,
    writes: list[Write] | None = None,
    exhausted: bool = False,
    weights: dict[int, float] | None = None,
) -> None:
    """Consolidate every question of a candidate, decide whether it needs more annotators or is labelled, and
    write the labels, the queue item and the candidate's status (set-based: a few statements whatever changed).

    The caller holds the queue item's row lock and passes its current values (``in_flight`` already adjusted
    for a lease it finished); ``state`` is updated in place to what was written. With ``writes``, the
    statements are appended there for the caller to run with its own (see ``_run_writes``). ``exhausted`` and
    ``weights``: no annotator is left to ask, settle by the weighted evidence (``annotation.services.exhausted``).
    """
    own_writes = writes is None
    writes = [] if writes is None else writes
    if item.is_gold:
        _settle_gold(item, state, questions, now, known, writes)
    else:
        _settle_majority(item, state, questions, now, writes, exhausted=exhausted, weights=weights)
    if own_writes:
        _run_writes(writes)


def _settle_majority(
    item: _Item,
    state: _CandidateState,
    questions: list[Question],
    now: dt.datetime,
    writes: list[Write],
    *,
    exhausted: bool = False,
    weights: dict[int, float] | None = None,
) -> None:
    was_closed = item.state == QueueItem.State.CLOSED
    gate_slugs, gate_no_answers, gate_max_answers = _gate_conf()
    decision = overlap_decide(
        [question.pk for question in questions],
        state.answers,
        {question: (label.value, label.yes, label.no, label.method) for question, label in state.labels.items()},
        state.leased,
        in_flight=item.in_flight,
        min_answers=_conf("MIN_ANSWERS"),
        max_answers=_conf("MAX_ANSWERS"),
        gates=[question.pk for question in questions if question.slug in gate_slugs],
        gate_no_answers=gate_no_answers,
        gate_max_answers=gate_max_answers,
        exhausted=exhausted,
        weights=weights,
        names={question.pk: question.slug for question in questions},
        min_evidence=float(_conf_or_default("EXHAUSTED_MIN_EVIDENCE")),
    )
    for question_id, result, method in decision.upserts:
        state.labels[question_id] = _Label(result.value, result.yes, result.no, method)
    for question_id in decision.deletes:
        del state.labels[question_id]
    item.wanted, item.in_flight = decision.wanted, decision.in_flight
    item.state = QueueItem.State.CLOSED if decision.closes else QueueItem.State.OPEN
    if decision.upserts:
        params: list[Any] = []
        for question_id, result, method in decision.upserts:
            params += [item.candidate_id, question_id, result.value, result.confidence, result.yes, result.no]
            params += [method, _ts(now)]
        rows = ", ".join([sql.LABEL_MAJORITY_ROW] * len(decision.upserts))
        writes.append((sql.LABELS_MAJORITY_UPSERT.format(rows=rows), params))
    if decision.deletes:
        questions_in = sql.placeholders(len(decision.deletes))
        writes.append((sql.LABELS_DELETE.format(questions=questions_in), [item.candidate_id, *decision.deletes]))
    if decision.newly_decided:
        params = []
        for question_id in decision.newly_decided:
            params += [question_id, _ts(now)]
        rows = ", ".join([sql.NEW_LABEL_ROW] * len(decision.newly_decided))
        writes.append((sql.NEW_LABEL_COUNTS_ADD.format(rows=rows), params))
    writes.append(
        (sql.QUEUE_ITEM_SETTLE, [item.wanted, item.in_flight, item.state, _ts(now), item.candidate_id]),
    )
    if decision.reason and decision.closes:
        item.closed_reason = decision.reason[:200]  # written by the caller: one statement may update a row once
    if item.state == QueueItem.State.CLOSED and not was_closed:
        writes.append((sql.CANDIDATE_TO_LABELLED, [_ts(now), item.candidate_id]))
    elif item.state == QueueItem.State.OPEN and was_closed:
        writes.append((sql.CANDIDATE_BACK_TO_ANNOTATION, [_ts(now), item.candidate_id]))


def _settle_gold(
    item: _Item,
    state: _CandidateState,
    questions: list[Question],
    now: dt.datetime,
    known: dict[str, Any] | None,
    writes: list[Write],
) -> None:
    """Gold candidates keep their known answers as labels and stay open for every annotator."""
    if known is None:
        known = _known_labels(candidate_known_labels(candidate_id=item.candidate_id))
    missing = [
        question
        for question in questions
        if question.slug in known
        and (
            (label := state.labels.get(question.pk)) is None
            or (label.value, label.method) != (bool(known[question.slug]), "gold")
        )
    ]
    if missing:
        params: list[Any] = []
        for question in missing:
            params += [item.candidate_id, question.pk, bool(known[question.slug]), _ts(now)]
            state.labels[question.pk] = _Label(bool(known[question.slug]), 0, 0, "gold")
        rows = ", ".join([sql.LABEL_GOLD_ROW] * len(missing))
        writes.append((sql.LABELS_GOLD_UPSERT.format(rows=rows), params))
    writes.append((sql.QUEUE_ITEM_GOLD_SETTLE, [item.in_flight, _ts(now), item.candidate_id]))


def _recompute(candidate_id: int, questions: list[Question], *, annotator_id: int) -> _Item:
    """Lock a candidate's queue item, read its state and consolidate it (the paths other than answering)."""
    item = _lock_item(candidate_id)
    assert item is not None  # not skip_locked: it waited for the lock
    state = _load_states([candidate_id], annotator_id=annotator_id)[candidate_id]
    _settle(item, state, questions, timezone.now())
    return item
