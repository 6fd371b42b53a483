"""COSMO-LM's held-out evaluation, as plain functions over lists.

Judgements: ROC AUC and accuracy (P(yes) >= 0.5) per task and over both tasks. Generation: the share of generated
tails that the checker accepts (the Django side passes the filtering rules and the active classifiers), their
distinctness (distinct tails, distinct-1 and distinct-2 over words), and how many match a curated tail of the same
behaviour and relation exactly (case and spaces aside) or nearly (``near_match``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from classifiers.ml.lm.data import JUDGEMENT_TASKS, LMExample
from classifiers.ml.metrics import roc_auc

#: (example, its generated tails) -> one accepted flag per tail
Checker = Callable[[Sequence[tuple[LMExample, list[str]]]], list[list[bool]]]
NEAR_RATIO = 0.8


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def near_match(a: str, b: str) -> bool:
    """Nearly the same tail: a character similarity of at least ``NEAR_RATIO``, or the same set of words."""
    a, b = _norm(a), _norm(b)
    return a == b or set(a.split()) == set(b.split()) or SequenceMatcher(None, a, b).ratio() >= NEAR_RATIO


def judgement_metrics(examples: Sequence[LMExample], p: Sequence[float]) -> dict[str, Any]:
    """ROC AUC and accuracy of P(yes) against the labels, overall and per task."""
    out: dict[str, Any] = {}
    labels = np.array([e.label for e in examples], dtype=np.int64)
    scores = np.asarray(p, dtype=np.float64)
    tasks = np.array([e.task for e in examples])
    for name, mask in [("all", np.ones(len(examples), dtype=bool))] + [(t, tasks == t) for t in JUDGEMENT_TASKS]:
        if not mask.any():
            continue
        y, s = labels[mask], scores[mask]
        out[name] = {
            "n": int(mask.sum()),
            "positives": int(y.sum()),
            "roc_auc": roc_auc(y, s),
            "accuracy": float(((s >= 0.5).astype(np.int64) == y).mean()),
            "mean_p_yes": float(s.mean()),
        }
    return out


def generation_metrics(
    examples: Sequence[LMExample], generated: Sequence[list[str]], accepted: Sequence[list[bool]] | None = None
) -> dict[str, Any]:
    """Quality of the generated tails of held-out generation examples (see the module docstring)."""
    tails = [tail for row in generated for tail in row]
    words = [_norm(tail).split() for tail in tails]
    unigrams = [w for row in words for w in row]
    bigrams = [tuple(row[i : i + 2]) for row in words for i in range(len(row) - 1)]
    exact = near = examples_matched = 0
    for example, row in zip(examples, generated, strict=True):
        curated = {_norm(t) for t in example.tails}
        hits = 0
        for tail in row:
            if _norm(tail) in curated:
                exact += 1
                near += 1
                hits += 1
            elif any(near_match(tail, other) for other in example.tails):
                near += 1
                hits += 1
        examples_matched += bool(hits)
    out: dict[str, Any] = {
        "examples": len(examples),
        "tails": len(tails),
        "tails_per_example": len(tails) / len(examples) if examples else 0.0,
        "empty_answers": sum(1 for row in generated if not row),
        "distinct_tails": len({_norm(t) for t in tails}) / len(tails) if tails else None,
        "distinct_1": len(set(unigrams)) / len(unigrams) if unigrams else None,
        "distinct_2": len(set(bigrams)) / len(bigrams) if bigrams else None,
        "exact_match": exact / len(tails) if tails else None,
        "near_match": near / len(tails) if tails else None,
        "examples_with_a_match": examples_matched / len(examples) if examples else None,
    }
    if accepted is not None:
        flags = [flag for row in accepted for flag in row]
        out["accepted"] = sum(flags) / len(flags) if flags else None
    return out


def summary(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The headline figures of an evaluation (what the pages and the comparison with the base show)."""
    judgement = metrics.get("judgement", {}).get("all", {})
    generation = metrics.get("generation", {})
    return {
        "roc_auc": judgement.get("roc_auc"),
        "accuracy": judgement.get("accuracy"),
        "accepted": generation.get("accepted"),
        "distinct_tails": generation.get("distinct_tails"),
        "exact_match": generation.get("exact_match"),
        "near_match": generation.get("near_match"),
    }
