"""Adaptive overlap over a candidate's questions: what consolidation writes and how many annotators it still wants.

A candidate's questions are asked in order and each is settled by ``majority`` (two agreeing answers settle it, a
disagreement asks for a third). The candidate wants more annotators only for its first question that is not
settled Yes; a question settled No (or tied at the cap) closes it, and so does every question settled Yes. Plain
data in and out (question and annotator ids, tuples), no Django import; the services store the decision.

**Gates** (issue 21) are the questions whose No closes a candidate before its target questions are asked
(complete, relevant, informative). A gate No needs more evidence than a gate Yes (``gate_majority``): two noisy
No answers never close a candidate. A gate that cannot be settled either way is *passed on* (stored Yes with the
method ``gate_open``): the candidate's fate is then decided by its later questions. A gate the classifier answers
with confidence may be *waived* (a Yes label with the method ``waived``, written by the priorities); such a
label has no answers behind it and is kept.

**Exhaustion**: when no annotator who may still see the candidate remains (every annotator of a small team has
had it), ``exhausted=True`` settles the first unsettled question by the weighted evidence there is (annotator
weights, e.g. log-odds of their gold accuracy): a non-gate question by the sign of the weighted vote when its
margin reaches ``min_evidence`` (one answer of an ordinary annotator, or a tie, leaves it undecided), a gate as Yes
when the weighted vote says Yes and passed on otherwise, and a question nobody answered ends the candidate with a
reason. The candidate then closes, ``reason`` saying why.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotation.maths.consolidation import Consolidated, majority

__all__ = [
    "EXHAUSTED",
    "GATE_OPEN",
    "MAJORITY",
    "WAIVED",
    "Answer",
    "OverlapDecision",
    "StoredLabel",
    "gate_majority",
    "overlap_decide",
]

MAJORITY = "majority"  # the method of the labels this module decides
GATE_OPEN = "gate_open"  # a gate nobody could settle No: passed on (value Yes), the later questions decide
EXHAUSTED = "exhausted"  # settled by the weighted evidence there was when no annotator was left
WAIVED = "waived"  # a gate the classifier answers with confidence, not asked (written by the priorities)

#: Methods of labels that no answer stands behind: consolidation keeps them while the question has no answers.
KEPT_WITHOUT_ANSWERS = frozenset({WAIVED})

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
    with their method, ``deletes`` the labels left without answers (an undo), ``newly_decided`` the questions that
    now have a value and had none. ``done`` says that no question wants another annotator; ``wanted`` and
    ``in_flight`` are the queue item's new values, and ``closes`` whether the queue item closes. ``reason`` is
    empty unless exhaustion settled the candidate: then it says how.
    """

    results: dict[int, Consolidated]
    upserts: list[tuple[int, Consolidated, str]]
    deletes: list[int]
    newly_decided: list[int]
    wanted: int
    in_flight: int
    done: bool
    closes: bool
    reason: str = ""


def gate_majority(
    yes: int, no: int, *, min_answers: int = 2, no_answers: int = 3, max_answers: int = 5
) -> tuple[Consolidated, bool]:
    """A gate's state: ``(result, passed_on)``.

    * Yes with at least ``min_answers`` Yes answers and more Yes than No (2:0, 2:1, 3:2);
    * No with at least ``no_answers`` No answers and at least two more No than Yes (3:0, 3:1, 4:2): a No closes
      the candidate, so two noisy answers (0:2, 1:2) never do;
    * otherwise another answer is wanted, up to ``max_answers``; at the cap an unsettled gate (2:3) is
      *passed on*: ``passed_on`` is True and the result's value is True, so that the later questions decide.
    """
    if yes < 0 or no < 0:
        raise ValueError("answer counts must be non-negative")
    total = yes + no
    confidence = max(yes, no) / total if total else 0.5
    if yes >= min_answers and yes > no:
        return Consolidated(True, confidence, yes, no, needs_more=False), False
    if no >= no_answers and no >= yes + 2:
        return Consolidated(False, confidence, yes, no, needs_more=False), False
    if total >= max_answers:
        return Consolidated(True, yes / total, yes, no, needs_more=False), True
    return Consolidated(None, confidence, yes, no, needs_more=True), False


def _weighted(votes: list[tuple[int, bool]], weights: Mapping[int, float]) -> float:
    """The weighted vote: the sum of the answering annotators' weights, + for Yes and - for No."""
    return sum(weights.get(annotator, 1.0) * (1.0 if value else -1.0) for annotator, value in votes)


def overlap_decide(
    order: Sequence[int],
    answers: Iterable[Answer],
    labels: Mapping[int, StoredLabel],
    leased: Iterable[int],
    *,
    in_flight: int,
    min_answers: int,
    max_answers: int,
    gates: Collection[int] = (),
    gate_no_answers: int = 3,
    gate_max_answers: int = 5,
    exhausted: bool = False,
    weights: Mapping[int, float] | None = None,
    names: Mapping[int, str] | None = None,
    min_evidence: float = 0.0,
) -> OverlapDecision:
    """Consolidate a candidate's questions (``order``: ids, in the order asked) from its ``answers``.

    ``labels`` are the stored labels, ``leased`` the annotators holding a live lease on the candidate and
    ``in_flight`` the leases holding a slot. ``wanted`` counts the answers the first unsettled question still
    needs, plus the live leases of annotators who already answered it: they are walking on through later
    questions and hold no slot for this one. A candidate that is done wants nobody, and its slots in flight are
    cut to that. ``gates`` are settled by ``gate_majority``; ``exhausted``, ``weights`` (annotator -> weight,
    default 1), ``min_evidence`` (the weighted margin a non-gate question needs then) and ``names`` (question ->
    name, for the reason) are the small-team settlement of the module docstring.
    """
    counts: dict[int, list[int]] = {}
    votes: dict[int, list[tuple[int, bool]]] = {}
    answered_by: dict[int, set[int]] = {}
    for annotator_id, question_id, value, excluded in answers:
        answered_by.setdefault(question_id, set()).add(annotator_id)
        if not excluded:
            counts.setdefault(question_id, [0, 0])[0 if value else 1] += 1
            votes.setdefault(question_id, []).append((annotator_id, value))
    holders = list(leased)
    gate_set = set(gates)
    results: dict[int, Consolidated] = {}
    upserts: list[tuple[int, Consolidated, str]] = []
    deletes: list[int] = []
    newly_decided: list[int] = []
    wanted = 0
    done = False
    reason = ""
    for question_id in order:
        yes, no = counts.get(question_id, (0, 0))
        label = labels.get(question_id)
        is_gate = question_id in gate_set
        if not (yes or no) and label is not None and label[3] in KEPT_WITHOUT_ANSWERS:
            results[question_id] = Consolidated(label[0], 1.0, 0, 0, needs_more=False)
            if label[0] is True:
                continue
            done = True
            break
        method = MAJORITY
        if is_gate:
            result, passed_on = gate_majority(
                yes, no, min_answers=min_answers, no_answers=gate_no_answers, max_answers=gate_max_answers
            )
            method = GATE_OPEN if passed_on else MAJORITY
        else:
            result = majority(yes, no, min_answers=min_answers, max_answers=max_answers)
        if exhausted and result.needs_more:
            name = (names or {}).get(question_id, str(question_id))
            if not (yes or no):
                reason = "; ".join(filter(None, [reason, f"no annotator left to ask {name}"]))
                done = True
                results[question_id] = result
                if label is not None:
                    deletes.append(question_id)
                break
            evidence = _weighted(votes.get(question_id, []), weights or {})
            settled: bool | None = None
            if evidence > 0 and (is_gate or evidence >= min_evidence):
                settled = True
            elif evidence < 0 and not is_gate and -evidence >= min_evidence:
                settled = False
            if is_gate and settled is not True:
                settled, method = True, GATE_OPEN  # two noisy No answers never close: the later questions decide
                note = f"no annotator left: {name} passed on ({yes} yes, {no} no)"
                reason = "; ".join(filter(None, [reason, note]))
            else:
                method = EXHAUSTED
                how = "undecided" if settled is None else "settled by weighted evidence"
                note = f"no annotator left: {name} {how} ({yes} yes, {no} no)"
                reason = "; ".join(filter(None, [reason, note]))
            result = Consolidated(settled, result.confidence, yes, no, needs_more=False)
        results[question_id] = result
        if result.value is not None and (label is None or label[0] is None):
            newly_decided.append(question_id)
        if (yes or no) and (label is None or tuple(label) != (result.value, yes, no, method)):
            upserts.append((question_id, result, method))
        elif not (yes or no) and label is not None:
            deletes.append(question_id)
        if result.value is True:
            continue
        if result.value is False or not result.needs_more:
            done = True
        else:
            target = gate_no_answers if is_gate and yes == 0 else (min_answers if no == 0 or yes == 0 else max_answers)
            if is_gate and yes and no:
                target = min(gate_max_answers, max(max_answers, yes + no + 1))
            remaining = max(target - (yes + no), 1)
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
        reason=reason,
    )
