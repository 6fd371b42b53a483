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

PLAN_STABLE_JOINS: a lease reaches its queue item by key (a scalar subquery, or ``= (SELECT ...)`` /
``= ANY(ARRAY(...))`` on the item's primary key), never by a plain join of assignments to queue items. Planned as
a join, PostgreSQL may pick a merge join that walks the queue's primary key from the lowest candidate id up to the
lease's (it trusts the assignment statistics from the last ANALYZE, which predate the leases being read). That
walk grows with every claim: 908 index rows and 220 buffers per answer after a few thousand claims in the load
benchmark, for a statement that needs 4 (tests/annotation/test_round_trips.py checks the plans).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotation.maths.consolidation import majority
from annotation.models import (
    AnnotatorProfile,
    Answer,
    Assignment,
    Question,
    QuestionWording,
    QueueItem,
)
from core.errors import ApplicationError, Conflict, NotAllowed
from knowledge.models import Candidate
from knowledge.selectors import CANDIDATE_BEHAVIOUR_FROM

GOLD_WANTED = 32_000  # gold candidates stay open for every annotator


def _conf(name: str) -> Any:
    return settings.PLAUSI_ANNOTATION[name]


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=_conf("LEASE_SECONDS"))


def undo_window() -> dt.timedelta:
    return dt.timedelta(seconds=_conf("UNDO_SECONDS"))


def _ts(value: dt.datetime) -> Any:
    """A datetime as a raw-SQL parameter (SQLite stores naive UTC text; psycopg takes it as it is)."""
    return connection.ops.adapt_datetimefield_value(value)


def _read_ts(value: Any) -> dt.datetime:
    """A datetime read by raw SQL (SQLite returns text)."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)
    return value


@dataclass(frozen=True)
class Step:
    """What the annotator is asked now: a question of a leased candidate (or nothing: the queue is empty)."""

    assignment: Assignment
    question: Question
    settled_yes: frozenset[int] | None = None  # questions settled Yes (None: not read yet)
    context_row: tuple[Any, ...] | None = None  # the candidate's CONTEXT_SELECT row, when the claim read it


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


_wordings_cache: tuple[float, dict[int, dict[int, str]]] = (0.0, {})


def question_wordings() -> dict[int, dict[int, str]]:
    """Per-relation wordings, ``{relation_id: {question_id: template}}``, cached like ``_questions``."""
    global _wordings_cache
    loaded_at, wordings = _wordings_cache
    now = time.monotonic()
    if now - loaded_at > _QUESTIONS_TTL_SECONDS:
        wordings = {}
        for question_id, relation_id, template in QuestionWording.objects.values_list(
            "question_id", "relation_id", "template"
        ):
            wordings.setdefault(relation_id, {})[question_id] = template
        _wordings_cache = (now, wordings)
    return wordings


def questions_cache_clear() -> None:
    global _questions_cache, _wordings_cache
    _questions_cache = (0.0, [])
    _wordings_cache = (0.0, {})


# --- the per-candidate state the answer path works on -------------------------------------------------------


@dataclass
class _Item:
    """A queue item's row as the answer path holds it (locked) and writes it back."""

    candidate_id: int
    is_gold: bool
    state: str
    wanted: int
    in_flight: int


@dataclass
class _Label:
    value: bool | None
    yes: int
    no: int
    method: str


@dataclass
class _CandidateState:
    """Everything consolidation needs about one candidate, read in one statement (see ``_load_states``)."""

    answers: list[tuple[int, int, bool, bool]] = field(default_factory=list)  # annotator, question, value, excluded
    labels: dict[int, _Label] = field(default_factory=dict)
    leased: list[int] = field(default_factory=list)  # annotators holding a lease on it now

    def own(self, annotator_id: int) -> dict[int, bool]:
        return {question: value for annotator, question, value, _ in self.answers if annotator == annotator_id}

    def settled(self) -> dict[int, bool | None]:
        return {question: label.value for question, label in self.labels.items()}

    def settled_yes(self) -> frozenset[int]:
        return frozenset(question for question, label in self.labels.items() if label.value is True)


def _placeholders(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class _Lease:
    """One of the annotator's open leases, as the step listing needs it."""

    assignment_id: int
    candidate_id: int
    expires: dt.datetime
    is_gold: bool
    created: dt.datetime


@dataclass
class _Reading:
    """What one statement read for an annotator: candidate states, and (when asked) their open leases, oldest
    first, and whether they are paused."""

    states: dict[int, _CandidateState]
    leases: list[_Lease] | None = None
    paused: bool = False
    locked: _Locked | None = None  # with ``lock_assignment``: that lease and its queue item, locked


@dataclass
class _Locked:
    """A lease locked with its queue item (FOR UPDATE), as the answer path needs them."""

    candidate_id: int
    owner_id: int
    status: str
    is_gold: bool
    item_state: str
    wanted: int
    in_flight: int
    known: Any  # the gold candidate's known labels (None for others)
    excluded: bool  # the asking annotator's answers are left out of consolidation
    fresh: bool  # the queue item locked is the version the statement's snapshot saw (see _lock_and_read)


def _load_states(
    candidate_ids: list[int], *, annotator_id: int, with_leases: bool = False
) -> dict[int, _CandidateState]:
    """The answers, labels and lease holders of some candidates, in one round trip (see ``_read``)."""
    return _read(candidate_ids, annotator_id=annotator_id, with_leases=with_leases).states


def _read(
    candidate_ids: list[int], *, annotator_id: int, with_leases: bool = False, lock_assignment: int | None = None
) -> _Reading:
    """The answers, labels and lease holders of some candidates, in one round trip, as ``annotator_id`` needs
    them: on gold candidates only that annotator's own rows (gold labels are the known answers, and a gold
    candidate collects answers from every annotator: reading them all would grow with the team). With
    ``with_leases``, also every candidate the annotator holds a lease on, those leases and the annotator's paused
    flag (the answer path lists its next steps from this reading instead of asking again). With
    ``lock_assignment`` (PostgreSQL), the statement first locks that lease and its queue item and reads that
    candidate too (see ``_lock_and_read``)."""
    states = {candidate_id: _CandidateState() for candidate_id in candidate_ids}
    if not candidate_ids and not with_leases and lock_assignment is None:
        return _Reading(states)
    ids = " UNION ALL ".join(["SELECT CAST(%s AS bigint)"] * len(candidate_ids))
    id_params: list[Any] = list(candidate_ids)
    locked = ""
    if lock_assignment is not None:
        locked = f"locked AS MATERIALIZED ({LOCK_SELECT.format(version=', q.xmin AS version')} FOR UPDATE OF a, q), "
        ids = f"SELECT k.candidate_id FROM locked k UNION ALL {ids}" if ids else "SELECT k.candidate_id FROM locked k"
    if with_leases:  # the annotator's leases: index assignment_leased_by
        leased = "SELECT a.candidate_id FROM annotation_assignment a WHERE a.annotator_id = %s AND a.status = 'leased'"
        ids = f"{leased} UNION ALL {ids}" if ids else leased
        id_params = [annotator_id, *id_params]
    # Gold rows are read through the annotator's own pass (the unique (candidate, annotator) lease and the answers
    # of that lease), so that a gold candidate's thousands of answers from the rest of the team are never
    # scanned; "is gold" filters the materialised items before any join.
    sql = (
        f"WITH {locked}items AS MATERIALIZED (SELECT g.candidate_id, g.is_gold FROM annotation_queueitem g "
        f"WHERE g.candidate_id IN ({ids})) "
        "SELECT 'a', s.candidate_id, s.annotator_id, s.question_id, s.value, COALESCE(p.excluded, FALSE), 0, 0, '', "
        "CAST(NULL AS timestamptz), CAST(NULL AS timestamptz) "
        "FROM items g JOIN annotation_answer s ON s.candidate_id = g.candidate_id "
        "LEFT JOIN annotation_annotatorprofile p ON p.user_id = s.annotator_id WHERE NOT g.is_gold "
        "UNION ALL SELECT 'a', s.candidate_id, s.annotator_id, s.question_id, s.value, COALESCE(p.excluded, FALSE), "
        "0, 0, '', NULL, NULL FROM items g "
        "JOIN annotation_assignment o ON o.candidate_id = g.candidate_id AND o.annotator_id = %s "
        "JOIN annotation_answer s ON s.assignment_id = o.id "
        "LEFT JOIN annotation_annotatorprofile p ON p.user_id = s.annotator_id WHERE g.is_gold "
        "UNION ALL SELECT 'l', l.candidate_id, 0, l.question_id, l.value, FALSE, l.yes, l.no, l.method, NULL, NULL "
        "FROM items g JOIN annotation_consolidatedlabel l ON l.candidate_id = g.candidate_id "
        # Every lease of the candidates, live or not; the 'p' rows carry "is live" in the sixth column.
        "UNION ALL SELECT 'p', a.candidate_id, a.annotator_id, 0, NULL, a.status = 'leased', 0, 0, '', NULL, NULL "
        "FROM items g JOIN annotation_assignment a ON a.candidate_id = g.candidate_id WHERE NOT g.is_gold "
        "UNION ALL SELECT 'p', a.candidate_id, a.annotator_id, 0, NULL, a.status = 'leased', 0, 0, '', NULL, NULL "
        "FROM items g JOIN annotation_assignment a ON a.candidate_id = g.candidate_id AND a.annotator_id = %s "
        "WHERE g.is_gold"
    )
    lock_params = [] if lock_assignment is None else [annotator_id, lock_assignment, lock_assignment]
    params = [*lock_params, *id_params, annotator_id, annotator_id]
    if with_leases:
        # 'L': the annotator's own open leases (the assignment id in the third column); 'P': they are paused
        sql += (
            " UNION ALL SELECT 'L', a.candidate_id, a.id, 0, (SELECT q.is_gold FROM annotation_queueitem q "
            "WHERE q.candidate_id = a.candidate_id), FALSE, 0, 0, '', a.lease_expires_at, a.created_at "
            "FROM annotation_assignment a WHERE a.annotator_id = %s AND a.status = 'leased' "
            "UNION ALL SELECT 'P', 0, 0, 0, NULL, TRUE, 0, 0, '', NULL, NULL FROM annotation_annotatorprofile "
            "WHERE user_id = %s AND paused"
        )
        params += [annotator_id, annotator_id]
    if lock_assignment is not None:
        # 'K': the locked lease (owner in the third column, is gold, fresh, wanted, in flight, then the rest as JSON)
        sql += (
            " UNION ALL SELECT 'K', k.candidate_id, k.annotator_id, 0, k.is_gold, k.version = (SELECT v.xmin "
            "FROM annotation_queueitem v WHERE v.candidate_id = k.candidate_id), k.wanted, k.in_flight, "
            "CAST(json_build_array(k.status, k.state, k.known, k.excluded) AS text), NULL, NULL FROM locked k"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    reading = _Reading(states, [] if with_leases else None)
    for kind, candidate_id, row_id, question_id, value, flag, yes, no, method, expires, created in rows:
        if kind == "K":
            status, item_state, known, excluded = orjson.loads(method)
            reading.locked = _Locked(
                candidate_id, row_id, status, bool(value), item_state, yes, no, known, bool(excluded), bool(flag)
            )
            continue
        if kind == "L":
            assert reading.leases is not None
            reading.leases.append(_Lease(row_id, candidate_id, _read_ts(expires), bool(value), _read_ts(created)))
            continue
        if kind == "P":
            reading.paused = True
            continue
        state = states.setdefault(candidate_id, _CandidateState())
        if kind == "a":
            state.answers.append((row_id, question_id, bool(value), bool(flag)))
        elif kind == "l":
            state.labels[question_id] = _Label(None if value is None else bool(value), yes, no, method)
        elif flag:  # a 'p' row of a live lease
            state.leased.append(row_id)
    if reading.leases:
        reading.leases.sort(key=lambda lease: (lease.created, lease.assignment_id))
    return reading


# A lease with its queue item, candidate (gold labels) and the asking annotator's exclusion; parameters: the
# annotator, the assignment twice. The queue item is reached by key (PLAN_STABLE_JOINS).
LOCK_SELECT = (
    "SELECT a.candidate_id, a.annotator_id, a.status, q.is_gold, q.state, q.wanted, q.in_flight, "
    "CASE WHEN q.is_gold THEN c.known_labels END AS known, "
    "COALESCE((SELECT p.excluded FROM annotation_annotatorprofile p WHERE p.user_id = %s), FALSE) AS excluded"
    "{version} FROM annotation_assignment a JOIN annotation_queueitem q ON q.candidate_id = a.candidate_id "
    "JOIN knowledge_candidate c ON c.id = a.candidate_id "
    "WHERE a.id = %s AND q.candidate_id = (SELECT x.candidate_id FROM annotation_assignment x WHERE x.id = %s)"
)


def _lock_and_read(assignment_id: int, *, annotator_id: int) -> _Reading:
    """Lock a lease and its queue item, and read (as ``_read`` with leases) its candidate and the annotator's
    leases; ``reading.locked`` is None when there is no such lease.

    On PostgreSQL this is one statement. Its snapshot is taken before the lock is granted, so what it read is
    only current if no transaction holding that lock committed in between. Every such transaction (an answer, a
    claim, a skip, an undo, a lapsed lease given back) writes the queue item, so the check is the item's version:
    when the version locked is not the one the snapshot saw, the candidate is read again, now under the lock."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SELECT.format(version=""), [annotator_id, assignment_id, assignment_id])
            row = cursor.fetchone()
        if row is None:
            return _Reading({}, [])
        reading = _read([row[0]], annotator_id=annotator_id, with_leases=True)
        candidate_id, owner_id, status, is_gold, item_state, wanted, in_flight, known, excluded = row
        reading.locked = _Locked(
            candidate_id, owner_id, status, bool(is_gold), item_state, wanted, in_flight, known, bool(excluded), True
        )
        return reading
    reading = _read([], annotator_id=annotator_id, with_leases=True, lock_assignment=assignment_id)
    locked = reading.locked
    if locked is not None and not locked.fresh:
        reading = _read([locked.candidate_id], annotator_id=annotator_id, with_leases=True)
        reading.locked = locked
    return reading


def _lock_item(candidate_id: int, *, skip_locked: bool = False) -> _Item | None:
    """Lock and read a queue item; with ``skip_locked``, None when another transaction holds it."""
    lock = ""
    if connection.vendor == "postgresql":
        lock = " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT candidate_id, is_gold, state, wanted, in_flight FROM annotation_queueitem "
            "WHERE candidate_id = %s" + lock,
            [candidate_id],
        )
        row = cursor.fetchone()
    if row is None:
        if skip_locked:
            return None
        raise QueueItem.DoesNotExist(f"candidate {candidate_id} is not queued")
    return _Item(row[0], bool(row[1]), row[2], row[3], row[4])


def _known_labels(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str | bytes):
        raw = orjson.loads(raw)
    return raw if isinstance(raw, dict) else {}


# --- consolidation ------------------------------------------------------------------------------------------


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
            parts = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(writes))
            params = [value for _, values in writes for value in values]
            selected = ", ".join(f"(SELECT * FROM w{i} LIMIT 1)" for i in results) or "1"
            cursor.execute(f"WITH {parts} SELECT {selected}", params)
            row = cursor.fetchone()
            return list(row[: len(results)]) if row else [None for _ in results]
        values: dict[int, Any] = {}
        for i, (sql, params) in enumerate(writes):
            cursor.execute(sql, params)
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
) -> None:
    """Consolidate every question of a candidate, decide whether it needs more annotators or is labelled, and
    write the labels, the queue item and the candidate's status (set-based: a few statements whatever changed).

    The caller holds the queue item's row lock and passes its current values (``in_flight`` already adjusted
    for a lease it finished); ``state`` is updated in place to what was written. With ``writes``, the
    statements are appended there for the caller to run with its own (see ``_run_writes``).
    """
    own_writes = writes is None
    writes = [] if writes is None else writes
    if item.is_gold:
        _settle_gold(item, state, questions, now, known, writes)
    else:
        _settle_majority(item, state, questions, now, writes)
    if own_writes:
        _run_writes(writes)


def _settle_majority(
    item: _Item, state: _CandidateState, questions: list[Question], now: dt.datetime, writes: list[Write]
) -> None:
    was_closed = item.state == QueueItem.State.CLOSED
    min_answers, max_answers = _conf("MIN_ANSWERS"), _conf("MAX_ANSWERS")
    counts: dict[int, list[int]] = {}
    answered_by: dict[int, set[int]] = {}
    for annotator_id, question_id, value, excluded in state.answers:
        answered_by.setdefault(question_id, set()).add(annotator_id)
        if not excluded:
            counts.setdefault(question_id, [0, 0])[0 if value else 1] += 1
    upserts: list[tuple[int, bool | None, float, int, int]] = []
    deletes: list[int] = []
    new_labels: list[int] = []
    wanted = 0
    closed = False
    for question in questions:
        yes, no = counts.get(question.pk, (0, 0))
        result = majority(yes, no, min_answers=min_answers, max_answers=max_answers)
        label = state.labels.get(question.pk)
        if result.value is not None and (label is None or label.value is None):
            new_labels.append(question.pk)
        if (yes or no) and (label is None or (label.yes, label.no, label.method) != (yes, no, "majority")):
            upserts.append((question.pk, result.value, result.confidence, yes, no))
            state.labels[question.pk] = _Label(result.value, yes, no, "majority")
        elif not (yes or no) and label is not None:
            deletes.append(question.pk)
            del state.labels[question.pk]
        if result.value is True:
            continue
        if result.value is False or not result.needs_more:
            closed = True
        else:
            remaining = (min_answers if no == 0 or yes == 0 else max_answers) - (yes + no)
            # Leases whose annotator already answered this question are walking later ones: they hold no slot.
            answered = answered_by.get(question.pk, set())
            walking_on = sum(1 for annotator_id in state.leased if annotator_id in answered)
            wanted = remaining + walking_on
        break
    else:
        closed = True
    item.wanted = 0 if closed else max(wanted, 0)
    if closed:
        item.in_flight = min(item.in_flight, item.wanted)
    item.state = QueueItem.State.CLOSED if closed and item.in_flight == 0 else QueueItem.State.OPEN
    if upserts:
        rows = ", ".join(["(%s, %s, %s, %s, %s, %s, 'majority', %s)"] * len(upserts))
        params: list[Any] = []
        for question_id, decided, confidence, yes, no in upserts:
            params += [item.candidate_id, question_id, decided, confidence, yes, no, _ts(now)]
        writes.append(
            (
                "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, "
                f"method, updated_at) VALUES {rows} ON CONFLICT (candidate_id, question_id) DO UPDATE SET "
                "value = excluded.value, confidence = excluded.confidence, yes = excluded.yes, no = excluded.no, "
                "method = excluded.method, updated_at = excluded.updated_at",
                params,
            )
        )
    if deletes:
        writes.append(
            (
                "DELETE FROM annotation_consolidatedlabel WHERE candidate_id = %s "
                f"AND question_id IN ({_placeholders(deletes)})",
                [item.candidate_id, *deletes],
            )
        )
    if new_labels:  # counted toward the classifier's retraining trigger
        rows = ", ".join(["(%s, 1, %s)"] * len(new_labels))
        params = []
        for question_id in new_labels:
            params += [question_id, _ts(now)]
        writes.append(
            (
                f"INSERT INTO annotation_newlabelcount (question_id, count, updated_at) VALUES {rows} "
                "ON CONFLICT (question_id) DO UPDATE SET count = annotation_newlabelcount.count + 1, "
                "updated_at = excluded.updated_at",
                params,
            )
        )
    writes.append(
        (
            "UPDATE annotation_queueitem SET wanted = %s, in_flight = %s, state = %s, updated_at = %s "
            "WHERE candidate_id = %s",
            [item.wanted, item.in_flight, item.state, _ts(now), item.candidate_id],
        )
    )
    if item.state == QueueItem.State.CLOSED and not was_closed:
        moved = (Candidate.Status.IN_ANNOTATION, Candidate.Status.LABELLED)
    elif item.state == QueueItem.State.OPEN and was_closed:
        moved = (Candidate.Status.LABELLED, Candidate.Status.IN_ANNOTATION)
    else:
        return
    writes.append(
        (
            "UPDATE knowledge_candidate SET status = %s, updated_at = %s WHERE id = %s AND status = %s",
            [moved[1], _ts(now), item.candidate_id, moved[0]],
        )
    )


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
        known = _known_labels(Candidate.objects.values_list("known_labels", flat=True).get(pk=item.candidate_id))
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
        rows = ", ".join(["(%s, %s, %s, 1.0, 0, 0, 'gold', %s)"] * len(missing))
        params: list[Any] = []
        for question in missing:
            params += [item.candidate_id, question.pk, bool(known[question.slug]), _ts(now)]
            state.labels[question.pk] = _Label(bool(known[question.slug]), 0, 0, "gold")
        writes.append(
            (
                "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, "
                f"method, updated_at) VALUES {rows} ON CONFLICT (candidate_id, question_id) DO UPDATE SET "
                "value = excluded.value, confidence = excluded.confidence, method = excluded.method, "
                "updated_at = excluded.updated_at",
                params,
            )
        )
    writes.append(
        (
            "UPDATE annotation_queueitem SET in_flight = %s, updated_at = %s WHERE candidate_id = %s",
            [item.in_flight, _ts(now), item.candidate_id],
        )
    )


def _recompute(candidate_id: int, questions: list[Question], *, annotator_id: int) -> _Item:
    """Lock a candidate's queue item, read its state and consolidate it (the paths other than answering)."""
    item = _lock_item(candidate_id)
    assert item is not None  # not skip_locked: it waited for the lock
    state = _load_states([candidate_id], annotator_id=annotator_id)[candidate_id]
    _settle(item, state, questions, timezone.now())
    return item


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


def _current_question(
    assignment: Assignment, questions: list[Question], *, gold: bool | None = None
) -> Question | None:
    """The question this pass asks now, or None when the pass is over (see the module docstring).

    On a gold candidate every question is asked in order until the annotator's first No: settled labels are
    the known answers there, and skipping them would tell the annotator that the candidate is gold.
    """
    if gold is None:
        gold = QueueItem.objects.filter(candidate_id=assignment.candidate_id, is_gold=True).exists()
    state = _load_states([assignment.candidate_id], annotator_id=assignment.annotator_id)[assignment.candidate_id]
    return _walk(questions, state.own(assignment.annotator_id), {} if gold else state.settled())


def _score_gold(annotator: Any, candidate_id: int, question: Question, value: bool, *, sign: int = 1) -> None:
    """Update the annotator's gold accuracy; flag (and pause/exclude, as configured) under the threshold.

    Undo calls it with ``sign=-1`` to take an answer back out of the record; the answer path scores in its own
    write statement (``_profile_write``), with the same rule (``_gold_flagged``).
    """
    known = _known_labels(Candidate.objects.values_list("known_labels", flat=True).get(pk=candidate_id))
    if question.slug not in known:
        return
    profile, _ = AnnotatorProfile.objects.select_for_update().get_or_create(user=annotator)
    profile.gold_total += sign
    profile.gold_correct += sign * int(bool(known[question.slug]) == value)
    if _gold_flagged(profile.gold_correct, profile.gold_total):
        profile.flagged = True
        profile.paused = profile.paused or bool(_conf("PAUSE_FLAGGED"))
        profile.excluded = profile.excluded or bool(_conf("EXCLUDE_FLAGGED"))
    profile.updated_at = timezone.now()
    profile.save()


def _gold_flagged(correct: int, total: int) -> bool:
    """The gold rule: judged after GOLD_MIN_ANSWERS gold answers, flagged under GOLD_MIN_ACCURACY."""
    return total >= _conf("GOLD_MIN_ANSWERS") and total > 0 and correct / total < _conf("GOLD_MIN_ACCURACY")


def _profile_write(annotator_id: int, now: dt.datetime, *, gold_correct: bool | None) -> Write:
    """The answer's write of the annotator's profile (RETURNING today's answer count).

    ``gold_correct`` (an answer to a gold question with a known answer) also scores it: ``_score_gold``'s rule in
    the answer's own statement instead of a locked read and a save, which cost two round trips on every gold
    answer (a tenth of the answers at the default gold rate). The accuracy is compared as float8, the same IEEE
    division as Python's, so both paths flag at the same answer.
    """
    if gold_correct is None:
        return (
            "INSERT INTO annotation_annotatorprofile (user_id, gold_correct, gold_total, flagged, paused, excluded, "
            "answered_on, answered_that_day, updated_at) VALUES (%s, 0, 0, FALSE, FALSE, FALSE, %s, 1, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET answered_that_day = CASE WHEN "
            "annotation_annotatorprofile.answered_on = excluded.answered_on "
            "THEN annotation_annotatorprofile.answered_that_day + 1 ELSE 1 END, answered_on = excluded.answered_on "
            "RETURNING answered_that_day",
            [annotator_id, now.date(), _ts(now)],
        )
    correct = int(gold_correct)
    min_answers, min_accuracy = int(_conf("GOLD_MIN_ANSWERS")), float(_conf("GOLD_MIN_ACCURACY"))
    pause, exclude = bool(_conf("PAUSE_FLAGGED")), bool(_conf("EXCLUDE_FLAGGED"))
    first_flagged = _gold_flagged(correct, 1)
    under = (
        "(annotation_annotatorprofile.gold_total + 1 >= %s AND CAST(annotation_annotatorprofile.gold_correct + %s "
        "AS DOUBLE PRECISION) / (annotation_annotatorprofile.gold_total + 1) < %s)"
    )
    under_params = [min_answers, correct, min_accuracy]
    inserted: list[Any] = [annotator_id, correct, first_flagged, first_flagged and pause, first_flagged and exclude]
    inserted += [now.date(), _ts(now)]
    updated = [correct, *under_params, pause, *under_params, exclude, *under_params]
    return (
        "INSERT INTO annotation_annotatorprofile (user_id, gold_correct, gold_total, flagged, paused, excluded, "
        "answered_on, answered_that_day, updated_at) VALUES (%s, %s, 1, %s, %s, %s, %s, 1, %s) "
        "ON CONFLICT (user_id) DO UPDATE SET answered_that_day = CASE WHEN "
        "annotation_annotatorprofile.answered_on = excluded.answered_on "
        "THEN annotation_annotatorprofile.answered_that_day + 1 ELSE 1 END, answered_on = excluded.answered_on, "
        "gold_total = annotation_annotatorprofile.gold_total + 1, "
        "gold_correct = annotation_annotatorprofile.gold_correct + %s, "
        f"flagged = annotation_annotatorprofile.flagged OR {under}, "
        f"paused = annotation_annotatorprofile.paused OR (%s AND {under}), "
        f"excluded = annotation_annotatorprofile.excluded OR (%s AND {under}), "
        "updated_at = excluded.updated_at "
        "RETURNING answered_that_day",
        [*inserted, *updated],
    )


def annotator_is_paused(annotator: Any) -> bool:
    return AnnotatorProfile.objects.filter(user=annotator, paused=True).exists()


# --- leases -------------------------------------------------------------------------------------------------


_SWEEP_EVERY_SECONDS = 1.0
_last_sweep = 0.0


def leases_expire(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Give the slots of lapsed leases back (their answers stay; the annotator will not get the candidate again).

    Returns how many leases expired. It never waits for a lock (``SKIP LOCKED`` on the lease and on its queue
    item), so it can run inside any transaction of the answer path without ordering locks against it; a lease
    whose candidate is being consolidated right now expires at the next sweep.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "WITH lapsed AS (SELECT a.id, a.candidate_id FROM annotation_assignment a "
                "WHERE a.status = 'leased' AND a.lease_expires_at < %s ORDER BY a.lease_expires_at LIMIT %s "
                "FOR UPDATE OF a SKIP LOCKED), "
                # the queue items by key (see PLAN_STABLE_JOINS); one being consolidated now is left for later
                "free AS (SELECT q.candidate_id FROM annotation_queueitem q "
                "WHERE q.candidate_id = ANY(ARRAY(SELECT candidate_id FROM lapsed)) FOR UPDATE OF q SKIP LOCKED), "
                "gone AS (UPDATE annotation_assignment a SET status = 'expired', finished_at = %s "
                "FROM lapsed JOIN free ON free.candidate_id = lapsed.candidate_id "
                "WHERE a.id = lapsed.id RETURNING a.candidate_id), "
                "slots AS (UPDATE annotation_queueitem q SET in_flight = GREATEST(q.in_flight - g.n, 0) "
                "FROM (SELECT candidate_id, count(*) AS n FROM gone GROUP BY candidate_id) g "
                "WHERE q.candidate_id = g.candidate_id RETURNING 1) "
                "SELECT count(*) FROM gone",
                [_ts(now), limit, _ts(now)],
            )
            return int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT id, candidate_id FROM annotation_assignment WHERE status = 'leased' AND lease_expires_at < %s "
            "ORDER BY lease_expires_at LIMIT %s",
            [_ts(now), limit],
        )
        expired = cursor.fetchall()
        for assignment_id, candidate_id in expired:
            cursor.execute(
                "UPDATE annotation_assignment SET status = 'expired', finished_at = %s WHERE id = %s "
                "AND status = 'leased'",
                [_ts(now), assignment_id],
            )
            if cursor.rowcount:
                cursor.execute(
                    "UPDATE annotation_queueitem SET in_flight = in_flight - 1 WHERE candidate_id = %s "
                    "AND in_flight > 0",
                    [candidate_id],
                )
        return len(expired)


def _sweep_due() -> bool:
    """At most one routine sweep per second per process (a claim that finds nothing sweeps at once)."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < _SWEEP_EVERY_SECONDS:
        return False
    _last_sweep = now
    return True


def _assignment(assignment_id: int, candidate_id: int, annotator_id: int, lease_expires_at: dt.datetime) -> Assignment:
    """An Assignment instance for a row the answer path already read (no extra query)."""
    assignment = Assignment(
        id=assignment_id,
        candidate_id=candidate_id,
        annotator_id=annotator_id,
        status=Assignment.Status.LEASED,
        lease_expires_at=lease_expires_at,
    )
    assignment._state.adding = False
    assignment._state.db = "default"
    return assignment


# The columns a step renders its candidate from (annotation.selectors builds the context from them); the claim
# reads them in its own statement, and the selectors read them for a candidate they have not cached.
CONTEXT_SELECT = (
    "SELECT c.head_kind, c.head_text, c.tail, c.relation_id, r.slug, r.label, r.sentence_template, c.pair_id, "
    "sq.text, p1.title, p1.external_id, k1.name, p2.id, p2.title, p2.external_id, k2.name " + CANDIDATE_BEHAVIOUR_FROM
)


@dataclass(frozen=True)
class _Claimed:
    assignment: Assignment
    gold: bool
    labels: dict[int, bool | None] | None  # the candidate's settled labels; None: read them (see _claim)
    context_row: tuple[Any, ...] | None = None


def _claim(annotator: Any, now: dt.datetime) -> _Claimed | None:
    """Lease the highest-priority open candidate with a free slot that this annotator has never had.

    A gold candidate is offered instead with probability ``GOLD_RATE`` (when one is left for this annotator).
    On PostgreSQL one statement picks the row (``FOR UPDATE SKIP LOCKED``: concurrent annotators neither wait
    for each other nor get the same slot), takes a slot, moves the candidate into annotation, inserts the lease,
    and reads the candidate's labels and its context. The labels come from the statement's snapshot, so they are
    returned only when the queue item locked is the version that snapshot saw (``xmin`` unchanged: every change
    to a candidate's labels also writes its queue item); otherwise, and on other databases, ``labels`` is None and
    the caller reads them under the lock now held.
    """
    want_gold = random.random() < float(_conf("GOLD_RATE"))
    expires = now + _lease()
    pick = (
        "SELECT q.candidate_id{seen} FROM annotation_queueitem q WHERE q.state = 'open' AND q.is_gold = %s "
        "AND q.in_flight < q.wanted AND NOT EXISTS (SELECT 1 FROM annotation_assignment a "
        "WHERE a.candidate_id = q.candidate_id AND a.annotator_id = %s) "
        "ORDER BY q.priority DESC, q.candidate_id LIMIT 1"
    )
    with connection.cursor() as cursor:
        for gold in (want_gold, not want_gold):
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"WITH picked AS ({pick.format(seen=', q.xmin AS seen')} FOR UPDATE OF q SKIP LOCKED), "
                    "slot AS (UPDATE annotation_queueitem q SET in_flight = q.in_flight + 1, updated_at = %s "
                    "FROM picked WHERE q.candidate_id = picked.candidate_id RETURNING q.candidate_id), "
                    "moved AS (UPDATE knowledge_candidate c SET status = 'in_annotation', updated_at = %s "
                    "FROM picked WHERE c.id = picked.candidate_id AND c.status = 'pooled' RETURNING 1), "
                    "lease AS (INSERT INTO annotation_assignment (candidate_id, annotator_id, status, "
                    "lease_expires_at, created_at) SELECT candidate_id, %s, 'leased', %s, %s FROM slot "
                    "RETURNING id, candidate_id) "
                    "SELECT lease.id, lease.candidate_id, picked.seen = (SELECT v.xmin FROM annotation_queueitem v "
                    "WHERE v.candidate_id = lease.candidate_id), (SELECT json_agg(json_build_array(l.question_id, "
                    "l.value)) FROM annotation_consolidatedlabel l WHERE l.candidate_id = lease.candidate_id), ctx.* "
                    "FROM lease JOIN picked ON picked.candidate_id = lease.candidate_id "
                    f"LEFT JOIN LATERAL ({CONTEXT_SELECT} WHERE c.id = lease.candidate_id) ctx ON TRUE",
                    [gold, annotator.pk, _ts(now), _ts(now), annotator.pk, _ts(expires), _ts(now)],
                )
                row = cursor.fetchone()
                if row is not None:
                    assignment_id, candidate_id, fresh, labels = row[:4]
                    return _Claimed(
                        _assignment(assignment_id, candidate_id, annotator.pk, expires),
                        gold,
                        {question: value for question, value in labels or []} if fresh else None,
                        tuple(row[4:]) if row[4] is not None else None,
                    )
                continue
            cursor.execute(pick.format(seen=""), [gold, annotator.pk])
            picked = cursor.fetchone()
            if picked is None:
                continue
            cursor.execute(
                "UPDATE annotation_queueitem SET in_flight = in_flight + 1, updated_at = %s WHERE candidate_id = %s",
                [_ts(now), picked[0]],
            )
            cursor.execute(
                "UPDATE knowledge_candidate SET status = 'in_annotation', updated_at = %s "
                "WHERE id = %s AND status = 'pooled'",
                [_ts(now), picked[0]],
            )
            cursor.execute(
                "INSERT INTO annotation_assignment (candidate_id, annotator_id, status, lease_expires_at, "
                "created_at) VALUES (%s, %s, 'leased', %s, %s) RETURNING id",
                [picked[0], annotator.pk, _ts(expires), _ts(now)],
            )
            (assignment_id,) = cursor.fetchone()
            return _Claimed(_assignment(assignment_id, picked[0], annotator.pk, expires), gold, None)
    return None


def _finish(assignment: Assignment, status: str, now: dt.datetime) -> bool:
    """End a lease and give its slot back; False when it had already ended (claimed by a conditional UPDATE).
    The queue item is written even when no slot was held: every transaction that changes a candidate's leases,
    answers or labels under its lock writes it (``_lock_and_read`` relies on that)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotation_assignment SET status = %s, finished_at = %s WHERE id = %s AND status = 'leased'",
            [status, _ts(now), assignment.pk],
        )
        if not cursor.rowcount:
            return False
        cursor.execute(
            "UPDATE annotation_queueitem SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END, "
            "updated_at = %s WHERE candidate_id = %s",
            [_ts(now), assignment.candidate_id],
        )
    assignment.status = status
    assignment.finished_at = now
    return True


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
        question = _walk(questions, state.own(annotator.pk), {} if lease.is_gold else state.settled())
        if question is not None:
            if len(steps) < count:
                steps.append(Step(assignment, question, state.settled_yes()))
            continue
        # Settled meanwhile: nothing left to ask. Finish it unless someone is consolidating the candidate right
        # now (never wait for that lock here: it would order locks against the answer path); a later request will.
        candidate_id = lease.candidate_id
        if _lock_item(candidate_id, skip_locked=True) is not None and _finish(assignment, Assignment.Status.DONE, now):
            _recompute(candidate_id, questions, annotator_id=annotator.pk)
    if len(steps) < count and _sweep_due():
        leases_expire(now=now)
    while len(steps) < count:
        claimed = _claim(annotator, now)
        if claimed is None and leases_expire(now=now):
            claimed = _claim(annotator, now)  # lapsed leases gave slots back
        if claimed is None:
            break
        if claimed.gold:
            state = _CandidateState()  # a new pass on gold asks every question in order (see _current_question)
        elif claimed.labels is None:
            state = _load_states([claimed.assignment.candidate_id], annotator_id=annotator.pk)[
                claimed.assignment.candidate_id
            ]
        else:
            state = _CandidateState(
                labels={question: _Label(value, 0, 0, "") for question, value in claimed.labels.items()}
            )
        question = _walk(questions, {}, state.settled())
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


def assignment_next_with_prefetch(*, annotator: Any) -> tuple[Step | None, Step | None]:
    """The current question and the first question of the annotator's next candidate, leased ahead.

    The UI shows the prefetched question the moment the current pass ends (a No, or the last question), so a
    steady annotator never waits for the server; the prefetch lease is an ordinary lease (it holds one slot).
    """
    with transaction.atomic():
        steps = _steps(annotator, 2)
    return (steps[0] if steps else None, steps[1] if len(steps) > 1 else None)


@dataclass(frozen=True)
class AnswerResult:
    answer_id: int
    created: bool
    next_step: Step | None
    prefetch: Step | None
    answered_today: int | None = None  # known when the answer was stored now (None: read it from the profile)


def _answer_by_key(annotator: Any, idempotency_key: str) -> tuple[int, int, bool] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, assignment_id, value FROM annotation_answer WHERE annotator_id = %s AND idempotency_key = %s",
            [annotator.pk, idempotency_key],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], bool(row[2]))


def _replay(annotator: Any, assignment_id: int, value: bool, existing: tuple[int, int, bool]) -> AnswerResult:
    """A retried submit: the stored answer, and the annotator's next steps as they are now."""
    answer_id, stored_assignment, stored_value = existing
    if stored_assignment != assignment_id or stored_value != value:
        raise Conflict("This idempotency key was already used for another answer.")
    steps = _steps(annotator, 2)
    return AnswerResult(answer_id, False, steps[0] if steps else None, steps[1] if len(steps) > 1 else None)


def _replay_or_refuse(
    annotator: Any, assignment_id: int, value: bool, idempotency_key: str, refusal: ApplicationError
) -> AnswerResult:
    """For a submit that cannot store its answer: replay the answer already stored under its key, else refuse.

    The key is read again here, in a statement of its own, because a retry racing its first attempt may have
    waited for the lease lock while that attempt stored the answer (and ended the pass, or moved it on): the
    earlier statement's snapshot did not see that answer."""
    existing = _answer_by_key(annotator, idempotency_key)
    if existing is None:
        raise refusal
    return _replay(annotator, assignment_id, value, existing)


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
    statement (the key's answer, replayed).
    """
    if not idempotency_key or len(idempotency_key) > 64:
        raise ApplicationError("An idempotency key of 1 to 64 characters is required.")
    try:
        with transaction.atomic():
            return _answer_submit(annotator, assignment_id, question_slug, value, idempotency_key, seconds)
    except _AnswerNotStored:
        # a concurrent retry of the same key won the race: answer with what it stored
        with transaction.atomic():
            refusal = Conflict("This question was already answered.")
            return _replay_or_refuse(annotator, assignment_id, value, idempotency_key, refusal)


def _answer_submit(
    annotator: Any, assignment_id: int, question_slug: str, value: bool, idempotency_key: str, seconds: float | None
) -> AnswerResult:
    reading = _lock_and_read(assignment_id, annotator_id=annotator.pk)
    locked = reading.locked
    if locked is None:
        return _replay_or_refuse(
            annotator, assignment_id, value, idempotency_key, NotAllowed("This assignment is not yours.")
        )
    if locked.owner_id != annotator.pk:
        raise NotAllowed("This assignment is not yours.")
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
    settled = {} if item.is_gold else state.settled()
    question = _walk(questions, own, settled)
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
    pass_over = _walk(questions, own, settled) is None
    expires = now + _lease()
    writes: list[Write] = [
        (
            # under the locks held, only a concurrent retry of this key can conflict (see _AnswerNotStored)
            "INSERT INTO annotation_answer (assignment_id, candidate_id, question_id, annotator_id, value, "
            "idempotency_key, seconds, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [assignment_id, candidate_id, question.pk, annotator.pk, value, idempotency_key, seconds, _ts(now)],
        ),
        (
            "UPDATE annotation_assignment SET status = 'done', finished_at = %s, lease_expires_at = %s WHERE id = %s"
            if pass_over
            else "UPDATE annotation_assignment SET finished_at = %s, lease_expires_at = %s WHERE id = %s",
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


def _own_assignment(annotator: Any, assignment_id: int) -> Assignment:
    assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None or assignment.annotator_id != annotator.pk:
        raise NotAllowed("This assignment is not yours.")
    return assignment


def assignment_skip(*, annotator: Any, assignment_id: int) -> Step | None:
    """Give a candidate up (it is never offered to this annotator again) and get the next question."""
    with transaction.atomic():
        assignment = _own_assignment(annotator, assignment_id)
        if assignment.status != Assignment.Status.LEASED:
            raise Conflict(f"This lease is {assignment.status}.")
        _lock_item(assignment.candidate_id)
        _finish(assignment, Assignment.Status.SKIPPED, timezone.now())
        _recompute(assignment.candidate_id, _questions(), annotator_id=annotator.pk)
        steps = _steps(annotator, 1)
    return steps[0] if steps else None


def answer_undo(*, annotator: Any) -> Step | None:
    """Take back one's last answer (within the undo window) and be asked that question again."""
    with transaction.atomic():
        now = timezone.now()
        answer = Answer.objects.filter(annotator=annotator).order_by("-created_at", "-pk").first()
        if answer is None or now - answer.created_at > undo_window():
            raise Conflict("There is no answer of yours to undo (answers can be undone for two minutes).")
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
