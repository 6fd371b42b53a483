"""Held-out evaluation: ROC AUC, macro F1, precision/recall at thresholds, calibration, and the acceptance
threshold that reaches a target precision. numpy only; ``y`` is 0/1, ``p`` the predicted P(yes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half); None with one class only."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=np.float64)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    sorted_p = p[order]
    # average ranks over ties
    boundaries = np.flatnonzero(np.diff(sorted_p)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(p)]])
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def macro_f1(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    """Mean of the F1 of the Yes class and of the No class at ``threshold``."""
    y = np.asarray(y).astype(bool)
    predicted = np.asarray(p) >= threshold
    tp = int((predicted & y).sum())
    fp = int((predicted & ~y).sum())
    fn = int((~predicted & y).sum())
    tn = len(y) - tp - fp - fn
    return (_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2.0


@dataclass(frozen=True)
class PointMetrics:
    threshold: float
    precision: float | None
    recall: float
    accepted: int


def precision_recall_at(y: np.ndarray, p: np.ndarray, thresholds: list[float]) -> list[PointMetrics]:
    y = np.asarray(y).astype(bool)
    p = np.asarray(p)
    out = []
    for threshold in thresholds:
        predicted = p >= threshold
        accepted = int(predicted.sum())
        tp = int((predicted & y).sum())
        out.append(
            PointMetrics(
                threshold=threshold,
                precision=tp / accepted if accepted else None,
                recall=tp / int(y.sum()) if y.any() else 0.0,
                accepted=accepted,
            )
        )
    return out


def threshold_for_precision(
    y: np.ndarray, p: np.ndarray, target: float, *, min_accepted: int = 5
) -> tuple[float, float | None, float]:
    """The lowest threshold whose held-out precision is at least ``target`` with at least ``min_accepted``
    candidates above it, as ``(threshold, precision, recall)``. Lowest, because it accepts the most; if no
    threshold reaches the target, 1.0 (accept nothing) with the best precision seen reported as None."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=np.float64)
    if not len(y) or not y.any():
        return 1.0, None, 0.0
    order = np.argsort(-p, kind="mergesort")
    sorted_p, sorted_y = p[order], y[order]
    tp = np.cumsum(sorted_y)
    accepted = np.arange(1, len(y) + 1)
    precision = tp / accepted
    # only cut between distinct scores: a threshold accepts every candidate with the same score
    last_of_tie = np.concatenate([np.diff(sorted_p) != 0, [True]])
    ok = last_of_tie & (precision >= target) & (accepted >= min_accepted)
    if not ok.any():
        return 1.0, None, 0.0
    index = int(np.flatnonzero(ok)[-1])
    return float(sorted_p[index]), float(precision[index]), float(tp[index] / y.sum())


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability bins (mean predicted vs. observed share of Yes) and the expected calibration error."""
    y = np.asarray(y).astype(np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        if not n:
            continue
        predicted, observed = float(p[mask].mean()), float(y[mask].mean())
        ece += n / len(y) * abs(predicted - observed)
        rows.append(
            {"low": float(edges[b]), "high": float(edges[b + 1]), "n": n, "predicted": predicted, "observed": observed}
        )
    return {"bins": rows, "ece": ece if len(y) else None}


def evaluate(y: np.ndarray, p: np.ndarray, *, target_precision: float) -> dict[str, Any]:
    """Everything a model version stores about its held-out predictions."""
    threshold, precision, recall = threshold_for_precision(y, p, target_precision)
    return {
        "n": len(y),
        "positives": int(np.asarray(y).sum()),
        "roc_auc": roc_auc(y, p),
        "macro_f1": macro_f1(y, p, 0.5),
        "at_thresholds": [asdict(m) for m in precision_recall_at(y, p, [0.3, 0.5, 0.7, 0.9])],
        "calibration": calibration(y, p),
        "target_precision": target_precision,
        "threshold": threshold,
        "precision_at_threshold": precision,
        "recall_at_threshold": recall,
    }


def stratified_folds(y: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per row, each class spread evenly over the folds (deterministic for a seed)."""
    y = np.asarray(y).astype(bool)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for value in (False, True):
        rows = np.flatnonzero(y == value)
        rng.shuffle(rows)
        fold[rows] = np.arange(len(rows)) % folds
    return fold
