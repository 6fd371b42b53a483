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
* Claiming is ``SELECT ... FOR UPDATE SKIP LOCKED`` over short ranges of the open queue by priority (work in
  progress first, then fresh candidates from a random point of a tied band; PostgreSQL), so concurrent annotators
  never wait for each other nor get the same slot; leases that expire, or that the annotator's page gives back
  when it is left (``assignments_release``), give their slot back.
* Gold candidates (known answers from ingest) are mixed in at ``GOLD_RATE``, look like any other, stay open for
  every annotator and never change their labels; answers to them score the annotator, who is flagged (and by
  default paused and left out of consolidation) under ``GOLD_MIN_ACCURACY``.

The pure decisions live in ``annotation.maths`` (``passes``: which question a pass asks; ``overlap``: what
consolidation writes and how many annotators a candidate still wants) and the SQL in ``annotation.sql``, whose
header explains the statements' design. The modules here, by job: ``queue`` (filling it), ``leases`` (claim,
finish, the sweep of lapsed leases), ``reading`` (a candidate's state in one statement), ``consolidation``,
``gold`` (the annotator's record), ``steps`` (what to ask next), ``answers`` and ``undo`` (skip, release and undo),
and ``questions`` (the cached questions). A module global is patched in the module that holds it (e.g.
``annotation.services.leases._sweep_due``), not here.
"""

from annotation.priorities import queue_fill_prioritised, queue_priorities_recompute
from annotation.services.answers import AnswerResult, answer_submit
from annotation.services.common import GOLD_WANTED, undo_window
from annotation.services.gold import annotator_is_paused
from annotation.services.labels import labels_import, labels_record, queue_priority_lower
from annotation.services.leases import lease_release_token, leases_expire
from annotation.services.questions import _questions, question_wording, question_wordings, questions_cache_clear
from annotation.services.queue import queue_fill
from annotation.services.steps import NextSteps, Step, _walk, assignment_next, assignment_next_with_prefetch
from annotation.services.undo import answer_undo, assignment_skip, assignments_release
from annotation.sql import CONTEXT_SELECT, LOCK_SELECT

__all__ = [
    "CONTEXT_SELECT",
    "GOLD_WANTED",
    "LOCK_SELECT",
    "AnswerResult",
    "NextSteps",
    "Step",
    "_questions",
    "_walk",
    "annotator_is_paused",
    "answer_submit",
    "answer_undo",
    "assignment_next",
    "assignment_next_with_prefetch",
    "assignment_skip",
    "assignments_release",
    "labels_import",
    "labels_record",
    "lease_release_token",
    "leases_expire",
    "question_wording",
    "question_wordings",
    "questions_cache_clear",
    "queue_fill",
    "queue_fill_prioritised",
    "queue_priorities_recompute",
    "queue_priority_lower",
    "undo_window",
]
