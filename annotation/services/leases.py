"""Leases: claiming a candidate under a lease, ending a lease, and giving lapsed leases' slots back.

A candidate can be claimed while fewer leases than its ``QueueItem.wanted`` are in flight; each lease holds one
slot until it ends (done, skipped or expired). An annotator never gets the same candidate twice.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from annotation import sql
from annotation.models import Assignment
from annotation.services.common import _conf, _lease, _ts

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
            cursor.execute(sql.LEASES_EXPIRE, [_ts(now), limit, _ts(now)])
            return int(cursor.fetchone()[0])
        cursor.execute(sql.LEASES_LAPSED, [_ts(now), limit])
        expired = cursor.fetchall()
        for assignment_id, candidate_id in expired:
            cursor.execute(sql.LEASE_EXPIRE, [_ts(now), assignment_id])
            if cursor.rowcount:
                cursor.execute(sql.QUEUE_ITEM_SLOT_EXPIRE, [candidate_id])
        return len(expired)


_RELEASE_SALT = "annotation.lease-release"


def lease_release_token(*, assignment_id: int, annotator_id: int) -> str:
    """The secret with which the annotator's page gives a lease back when it is left (``assignments_release``).

    ``navigator.sendBeacon`` can send no CSRF header, so the release is authorised by this instead: an HMAC of the
    lease and its holder under ``SECRET_KEY``, sent with each step to that annotator only. A page of another site
    cannot know it, and it can only end that one lease early (as its expiry would), never answer or read anything.
    """
    return salted_hmac(_RELEASE_SALT, f"{assignment_id}:{annotator_id}", algorithm="sha256").hexdigest()[:32]


def lease_release_token_valid(*, assignment_id: int, annotator_id: int, token: str) -> bool:
    expected = lease_release_token(assignment_id=assignment_id, annotator_id=annotator_id)
    return constant_time_compare(expected, token)


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


@dataclass(frozen=True)
class _Claimed:
    assignment: Assignment
    gold: bool
    labels: dict[int, bool | None] | None  # the candidate's settled labels; None: read them (see _claim)
    context_row: tuple[Any, ...] | None = None


def _claim(annotator: Any, now: dt.datetime) -> _Claimed | None:
    """Lease an open candidate with a free slot that this annotator has never had, by priority.

    A gold candidate is offered instead with probability ``GOLD_RATE`` (when one is left for this annotator).
    On PostgreSQL one statement picks the row from the claim's ranges (``annotation.sql.CLAIM_PICK_RANGES``: the
    work in progress first, then a fresh candidate of the top priority entered at a random point of its hashed
    tiebreak, so that ties cost nothing and concurrent claims start apart), locks it with ``FOR UPDATE SKIP
    LOCKED`` (concurrent annotators neither wait for each other nor get the same slot), takes a slot, marks the
    item started, moves the candidate into annotation, inserts the lease, and reads the candidate's labels and its
    context. The labels come from the statement's snapshot, so they are returned only when the queue item locked
    is the version that snapshot saw (``xmin`` unchanged: every change to a candidate's labels also writes its
    queue item); otherwise, and on other databases, ``labels`` is None and the caller reads them under the lock
    now held.
    """
    want_gold = random.random() < float(_conf("GOLD_RATE"))
    expires = now + _lease()
    with connection.cursor() as cursor:
        for gold in (want_gold, not want_gold):
            if connection.vendor == "postgresql":
                start = random.getrandbits(31)  # where this claim enters the top priority's band
                params: list[Any] = sql.claim_pick_params(gold=gold, annotator_id=annotator.pk, start=start)
                params += [_ts(now), _ts(now), annotator.pk, _ts(expires), _ts(now)]
                cursor.execute(sql.CLAIM_GOLD if gold else sql.CLAIM, params)
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
            cursor.execute(sql.CLAIM_PICK.format(seen=""), [gold, annotator.pk])
            picked = cursor.fetchone()
            if picked is None:
                continue
            cursor.execute(sql.QUEUE_ITEM_SLOT_TAKE, [_ts(now), picked[0]])
            cursor.execute(sql.CANDIDATE_TO_IN_ANNOTATION, [_ts(now), picked[0]])
            cursor.execute(sql.LEASE_INSERT, [picked[0], annotator.pk, _ts(expires), _ts(now)])
            (assignment_id,) = cursor.fetchone()
            return _Claimed(_assignment(assignment_id, picked[0], annotator.pk, expires), gold, None)
    return None


def _finish(assignment: Assignment, status: str, now: dt.datetime) -> bool:
    """End a lease and give its slot back; False when it had already ended (claimed by a conditional UPDATE).
    The queue item is written even when no slot was held: every transaction that changes a candidate's leases,
    answers or labels under its lock writes it (``_lock_and_read`` relies on that)."""
    with connection.cursor() as cursor:
        cursor.execute(sql.LEASE_FINISH, [status, _ts(now), assignment.pk])
        if not cursor.rowcount:
            return False
        cursor.execute(sql.QUEUE_ITEM_SLOT_GIVE_BACK, [_ts(now), assignment.candidate_id])
    assignment.status = status
    assignment.finished_at = now
    return True
