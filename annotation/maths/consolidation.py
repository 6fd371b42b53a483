"""Turning several yes/no answers into one decision: COSMO's adaptive majority, Dawid-Skene EM and gold accuracy.

Answers are ``(item, annotator, value)`` tuples as in ``agreement``; one answer per (item, annotator). Pure
standard-library Python, no Django import, deterministic for a given input order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from annotation.maths.agreement import AnnotatorT, ItemT, answers_by_item

__all__ = ["DS_PRIOR_CORRECT", "DS_PRIOR_WRONG", "Consolidated", "dawid_skene", "gold_accuracy", "majority"]

#: Pseudo-answers added to every annotator rate Dawid-Skene estimates: a Beta(2, 1) prior, i.e. two correct and one
#: wrong answer. See ``dawid_skene`` for why not Beta(1, 1).
DS_PRIOR_CORRECT = 2.0
DS_PRIOR_WRONG = 1.0


@dataclass(frozen=True)
class Consolidated:
    """The state of one question after its answers so far.

    ``value`` is None while undecided or after a tie at the cap; ``confidence`` is the share of the current
    majority among the answers (1.0 when unanimous, 0.5 with no answers or a tie); ``needs_more`` says whether the
    question should be shown to another annotator.
    """

    value: bool | None
    confidence: float
    yes: int
    no: int
    needs_more: bool


def majority(yes: int, no: int, *, min_answers: int = 2, max_answers: int = 3) -> Consolidated:
    """COSMO's adaptive overlap: stop early on agreement, otherwise ask up to ``max_answers`` annotators.

    * ``yes + no >= min_answers`` and all answers agree: decided, confidence 1.0;
    * ``yes + no >= max_answers``: decided by majority (confidence = majority share, e.g. 2/3); a tie gives
      ``value=None, confidence=0.5, needs_more=False``, a question no one agrees on and that goes to a curator;
    * otherwise undecided and ``needs_more``.

    More answers than ``max_answers`` (e.g. leases that raced) are counted, never rejected.
    """
    if yes < 0 or no < 0:
        raise ValueError("answer counts must be non-negative")
    if min_answers < 1 or max_answers < min_answers:
        raise ValueError("need 1 <= min_answers <= max_answers")
    total = yes + no
    confidence = max(yes, no) / total if total else 0.5
    if total >= min_answers and (yes == 0 or no == 0):
        return Consolidated(value=yes > 0, confidence=1.0, yes=yes, no=no, needs_more=False)
    if total >= max_answers:
        value = None if yes == no else yes > no
        return Consolidated(value=value, confidence=confidence, yes=yes, no=no, needs_more=False)
    return Consolidated(value=None, confidence=confidence, yes=yes, no=no, needs_more=True)


def dawid_skene(
    answers: Iterable[tuple[ItemT, AnnotatorT, bool]],
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    prior: float | None = None,
) -> tuple[dict[ItemT, float], dict[AnnotatorT, tuple[float, float]]]:
    """Binary Dawid-Skene (1979) by EM: ``({item: P(Yes)}, {annotator: (sensitivity, specificity)})``.

    Each annotator has a sensitivity ``P(says Yes | true Yes)`` and a specificity ``P(says No | true No)``; answers
    are independent given the true value. EM starts from the soft majority vote (an item's share of Yes answers),
    then alternates:

    * M-step: rates from the current posteriors ``T_i``, smoothed with a Beta(2, 1) prior (two correct and one
      wrong pseudo-answer): ``sens_j = (2 + sum_i T_i [x_ij = Yes]) / (3 + sum_i T_i)``, ``spec_j`` likewise with
      ``1 - T_i``. An annotator with few answers thus never gets a rate of exactly 0 or 1 (which would make one
      answer decisive for ever). Add-one smoothing, Beta(1, 1), was tried and rejected: a rate with no evidence
      (specificity on a batch where every answer is Yes) then sits at chance, 0.5, so a Yes carries almost no
      evidence and P(Yes) of three unanimous Yes answers sinks to 0.58 on a two-item batch. The prior that
      annotators beat chance is what the gold checks enforce anyway. The class prior is ``prior`` if given, else
      estimated with add-one smoothing, ``(1 + sum_i T_i) / (2 + n_items)``.
    * E-step: ``T_i`` from the prior and the rates, in log space.

    Stops when no posterior moves by more than ``tol`` or after ``max_iter`` rounds; the returned rates are those
    that produced the returned posteriors. Starting from the majority anchors the labels, so an annotator who
    systematically flips gets rates well below 0.5 and their answers count as evidence for the opposite value, provided
    the majority of the data is honest.
    """
    if prior is not None and not 0.0 < prior < 1.0:
        raise ValueError("prior must be strictly between 0 and 1")
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    grouped = answers_by_item(answers)
    items = list(grouped)
    votes = [[(annotator, bool(value)) for annotator, value in grouped[item].items()] for item in items]
    annotators: list[AnnotatorT] = list(dict.fromkeys(a for per_item in votes for a, _ in per_item))
    if not items:
        return {}, {}

    posterior = [sum(v for _, v in per_item) / len(per_item) for per_item in votes]
    rates: dict[AnnotatorT, tuple[float, float]] = {}
    for _ in range(max_iter):
        rates, class_prior = _m_step(votes, posterior, annotators, prior)
        updated = _e_step(votes, rates, class_prior)
        delta = max(abs(new - old) for new, old in zip(updated, posterior, strict=True))
        posterior = updated
        if delta < tol:
            break
    return dict(zip(items, posterior, strict=True)), rates


def _m_step(
    votes: list[list[tuple[AnnotatorT, bool]]],
    posterior: list[float],
    annotators: list[AnnotatorT],
    prior: float | None,
) -> tuple[dict[AnnotatorT, tuple[float, float]], float]:
    yes_hits = dict.fromkeys(annotators, DS_PRIOR_CORRECT)
    yes_mass = dict.fromkeys(annotators, DS_PRIOR_CORRECT + DS_PRIOR_WRONG)
    no_hits = dict.fromkeys(annotators, DS_PRIOR_CORRECT)
    no_mass = dict.fromkeys(annotators, DS_PRIOR_CORRECT + DS_PRIOR_WRONG)
    for per_item, t in zip(votes, posterior, strict=True):
        for annotator, said_yes in per_item:
            yes_mass[annotator] += t
            no_mass[annotator] += 1 - t
            if said_yes:
                yes_hits[annotator] += t
            else:
                no_hits[annotator] += 1 - t
    rates = {j: (yes_hits[j] / yes_mass[j], no_hits[j] / no_mass[j]) for j in annotators}
    class_prior = prior if prior is not None else (sum(posterior) + 1) / (len(posterior) + 2)
    return rates, class_prior


def _e_step(
    votes: list[list[tuple[AnnotatorT, bool]]],
    rates: Mapping[AnnotatorT, tuple[float, float]],
    class_prior: float,
) -> list[float]:
    base = math.log(class_prior) - math.log1p(-class_prior)
    posterior = []
    for per_item in votes:
        log_odds = base
        for annotator, said_yes in per_item:
            sens, spec = rates[annotator]
            if said_yes:
                log_odds += math.log(sens) - math.log1p(-spec)
            else:
                log_odds += math.log1p(-sens) - math.log(spec)
        posterior.append(_sigmoid(log_odds))
    return posterior


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def gold_accuracy(
    answers: Iterable[tuple[ItemT, AnnotatorT, bool]],
    gold: Mapping[ItemT, bool],
) -> dict[AnnotatorT, tuple[int, int]]:
    """``{annotator: (correct, total)}`` over the answers given on gold items; annotators without any are absent."""
    scores: dict[AnnotatorT, tuple[int, int]] = {}
    for item, per_item in answers_by_item(answers).items():
        if item not in gold:
            continue
        truth = bool(gold[item])
        for annotator, value in per_item.items():
            correct, total = scores.get(annotator, (0, 0))
            scores[annotator] = (correct + (bool(value) == truth), total + 1)
    return scores
