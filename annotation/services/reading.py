"""Reading the state the answer path works on: candidates' answers, labels and lease holders, with the asking
annotator's leases and flags, in one statement; and locking a lease or a queue item to change it.

Every transaction that changes a candidate's leases, answers or labels does so under its queue item's row lock and
writes that row; ``_lock_and_read`` relies on it (see ``annotation/sql.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from annotation import sql
from annotation.models import QueueItem
from annotation.services.common import _read_ts


@dataclass
class _Item:
    """A queue item's row as the answer path holds it (locked) and writes it back."""

    candidate_id: int
    is_gold: bool
    state: str
    wanted: int
    in_flight: int
    closed_reason: str = ""  # set by consolidation when exhaustion closed it (annotation.services.exhausted)


@dataclass
class _Label:
    value: bool | None
    yes: int
    no: int
    method: str


@dataclass
class _CandidateState:
    """Everything consolidation needs about one candidate, read in one statement (see ``_read``)."""

    answers: list[tuple[int, int, bool, bool]] = field(default_factory=list)  # annotator, question, value, excluded
    labels: dict[int, _Label] = field(default_factory=dict)
    leased: list[int] = field(default_factory=list)  # annotators holding a lease on it now

    def own(self, annotator_id: int) -> dict[int, bool]:
        return {question: value for annotator, question, value, _ in self.answers if annotator == annotator_id}

    def settled(self) -> dict[int, bool | None]:
        return {question: label.value for question, label in self.labels.items()}

    def settled_yes(self) -> frozenset[int]:
        return frozenset(question for question, label in self.labels.items() if label.value is True)


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
    first, whether they are paused and how many answers they gave today (UTC; 0 without a profile)."""

    states: dict[int, _CandidateState]
    leases: list[_Lease] | None = None
    paused: bool = False
    answered_today: int = 0
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
    statement = sql.read_statement(
        candidates=len(candidate_ids), with_leases=with_leases, lock=lock_assignment is not None
    )
    params: list[Any] = [] if lock_assignment is None else [annotator_id, lock_assignment, lock_assignment]
    if with_leases:
        params.append(annotator_id)
    params += [*candidate_ids, annotator_id, annotator_id]
    if with_leases:
        params += [annotator_id, timezone.now().date(), annotator_id]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
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
            reading.paused, reading.answered_today = bool(flag), row_id
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


def _lock_and_read(assignment_id: int, *, annotator_id: int) -> _Reading:
    """Lock a lease and its queue item, and read (as ``_read`` with leases) its candidate and the annotator's
    leases; ``reading.locked`` is None when there is no such lease.

    On PostgreSQL this is one statement. Its snapshot is taken before the lock is granted, so what it read is
    only current if no transaction holding that lock committed in between. Every such transaction (an answer, a
    claim, a skip, an undo, a lapsed lease given back) writes the queue item, so the check is the item's version:
    when the version locked is not the one the snapshot saw, the candidate is read again, now under the lock."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.LOCK_SELECT.format(version=""), [annotator_id, assignment_id, assignment_id])
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
        cursor.execute(sql.QUEUE_ITEM_SELECT.format(lock=lock), [candidate_id])
        row = cursor.fetchone()
    if row is None:
        if skip_locked:
            return None
        raise QueueItem.DoesNotExist(f"candidate {candidate_id} is not queued")
    return _Item(row[0], bool(row[1]), row[2], row[3], row[4])
