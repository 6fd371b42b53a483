"""Adaptive overlap over a candidate's questions: what consolidation writes and how many annotators it still wants.

A candidate's questions are asked in order and each is settled by ``majority`` (two agreeing answers settle it, a
disagreement asks for a third). The candidate wants more annotators only for its first question that is not
settled Yes; a question settled No (or tied at the cap) closes it, and so does every question settled Yes. Plain
data in and out (question and annotator ids, tuples), no Django import; the services store the decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotation.maths.consolidation import Consolidated, majority

__all__ = ["MAJORITY", "Answer", "OverlapDecision", "StoredLabel", "overlap_decide"]

MAJORITY = "majority"  # the method of the labels this module decides

#: One stored answer: (annotator, question, value, excluded). An excluded annotator's answer counts as answered
#: (their pass walks on) but not toward the majority.
Answer = tuple[int, int, bool, bool]
#: One stored consolidated label: (value, yes, no, method).
StoredLabel = tuple[bool | None, int, int, str]


@dataclass(frozen=True)
class OverlapDecision:
    """What consolidating a candidate decided.

    ``results`` holds the majority of each question examined: the questions up to and including the first one not
    settled Yes (later ones are neither asked nor rewritten). ``upserts`` are the labels whose counts changed,
    ``deletes`` the labels left without answers (an undo), ``newly_decided`` the questions that now have a value
    and had none. ``done`` says that no question wants another annotator; ``wanted`` and ``in_flight`` are the
    queue item's new values, and ``closes`` whether the queue item closes.
    """

    results: dict[int, Consolidated]
    upserts: list[tuple[int, Consolidated]]
    deletes: list[int]
    newly_decided: list[int]
    wanted: int
    in_flight: int
    done: bool
    closes: bool


def overlap_decide(
    order: Sequence[int],
    answers: Iterable[Answer],
    labels: Mapping[int, StoredLabel],
    leased: Iterable[int],
    *,
    in_flight: int,
    min_answers: int,
    max_answers: int,
) -> OverlapDecision:
    """Consolidate a candidate's questions (``order``: ids, in the order asked) from its ``answers``.

    ``labels`` are the stored labels, ``leased`` the annotators holding a live lease on the candidate and
    ``in_flight`` the leases holding a slot. ``wanted`` counts the answers the first unsettled question still
    needs, plus the live leases of annotators who already answered it: they are walking on through later
    questions and hold no slot for this one. A candidate that is done wants nobody, and its slots in flight are
    cut to that.
    """
    counts: dict[int, list[int]] = {}
    answered_by: dict[int, set[int]] = {}
    for annotator_id, question_id, value, excluded in answers:
        answered_by.setdefault(question_id, set()).add(annotator_id)
        if not excluded:
            counts.setdefault(question_id, [0, 0])[0 if value else 1] += 1
    holders = list(leased)
    results: dict[int, Consolidated] = {}
    upserts: list[tuple[int, Consolidated]] = []
    deletes: list[int] = []
    newly_decided: list[int] = []
    wanted = 0
    done = False
    for question_id in order:
        yes, no = counts.get(question_id, (0, 0))
        result = majority(yes, no, min_answers=min_answers, max_answers=max_answers)
        results[question_id] = result
        label = labels.get(question_id)
        if result.value is not None and (label is None or label[0] is None):
            newly_decided.append(question_id)
        if (yes or no) and (label is None or (label[1], label[2], label[3]) != (yes, no, MAJORITY)):
            upserts.append((question_id, result))
        elif not (yes or no) and label is not None:
            deletes.append(question_id)
        if result.value is True:
            continue
        if result.value is False or not result.needs_more:
            done = True
        else:
            remaining = (min_answers if no == 0 or yes == 0 else max_answers) - (yes + no)
            answered = answered_by.get(question_id, set())
            walking_on = sum(1 for annotator_id in holders if annotator_id in answered)
            wanted = remaining + walking_on
        break
    else:
        done = True
    wanted = 0 if done else max(wanted, 0)
    if done:
        in_flight = min(in_flight, wanted)
    return OverlapDecision(
        results=results,
        upserts=upserts,
        deletes=deletes,
        newly_decided=newly_decided,
        wanted=wanted,
        in_flight=in_flight,
        done=done,
        closes=done and in_flight == 0,
    )
