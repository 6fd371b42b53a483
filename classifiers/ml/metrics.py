"""Held-out evaluation: ROC AUC, macro F1, precision/recall at thresholds, calibration, and the acceptance
threshold that reaches a target precision. numpy only; ``y`` is 0/1, ``p`` the predicted P(yes)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
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


def evaluate(
    y: np.ndarray, p: np.ndarray, *, target_precision: float, groups: np.ndarray | None = None, seed: int = 0
) -> dict[str, Any]:
    """Everything a model version stores about its held-out predictions, with 95% intervals from a bootstrap
    over ``groups`` (behaviour pairs: rows of one group are resampled together, since they are not independent;
    each row its own group when None)."""
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    threshold, precision, recall = threshold_for_precision(y, p, target_precision)
    auc_low, auc_high = auc_interval(y, p, groups, seed=seed)
    threshold_low, threshold_high, nothing_share = threshold_interval(y, p, groups, target_precision, seed=seed)
    accepted = int((p >= threshold).sum()) if threshold < 1.0 else 0
    tp = int(((p >= threshold) & y.astype(bool)).sum()) if threshold < 1.0 else 0
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "groups": len(np.unique(groups)),
        "roc_auc": roc_auc(y, p),
        "roc_auc_interval": [auc_low, auc_high],
        "macro_f1": macro_f1(y, p, 0.5),
        "at_thresholds": [asdict(m) for m in precision_recall_at(y, p, [0.3, 0.5, 0.7, 0.9])],
        "calibration": calibration(y, p),
        "target_precision": target_precision,
        "threshold": threshold,
        "threshold_interval": [threshold_low, threshold_high],
        "threshold_accepts_nothing_share": nothing_share,
        "precision_at_threshold": precision,
        "precision_interval": list(wilson_interval(tp, accepted)) if accepted else [None, None],
        "recall_at_threshold": recall,
        "threshold_note": threshold_note(y, p, threshold, target_precision),
    }


def threshold_note(y: np.ndarray, p: np.ndarray, threshold: float, target: float) -> str:
    """Empty when a threshold was found; otherwise why the version accepts nothing, in words for the page."""
    if threshold < 1.0:
        return ""
    y = np.asarray(y).astype(bool)
    if not y.any():
        return "accepts nothing: no held-out Yes label to measure precision on"
    order = np.argsort(-np.asarray(p, dtype=np.float64), kind="mergesort")
    precision = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
    best = int(np.argmax(precision[4:]) + 4) if len(y) >= 5 else int(np.argmax(precision))
    return (
        f"accepts nothing: no threshold reaches {target:.0%} precision on {len(y)} held-out labels "
        f"({int(y.sum())} Yes; best {precision[best]:.0%} over the top {best + 1}). With so few labels this is "
        f"the sample's size as much as the model's quality; candidates stay with the annotators until more "
        f"labels arrive"
    )


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (good at small counts and near 0 or 1)."""
    if trials <= 0:
        return 0.0, 1.0
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


# --- intervals: a bootstrap over groups ----------------------------------------------------------------------------


class _WeightedAuc:
    """ROC AUC of fixed scores under many row weightings (a bootstrap resample is a weighting: how often each
    row was drawn). The scores are sorted once; each weighting costs two ``bincount``s."""

    def __init__(self, y: np.ndarray, p: np.ndarray) -> None:
        self.y = np.asarray(y).astype(bool)
        _, self.inverse = np.unique(np.asarray(p, dtype=np.float64), return_inverse=True)
        self.size = int(self.inverse.max()) + 1 if len(self.inverse) else 0

    def __call__(self, weights: np.ndarray) -> float | None:
        positive = np.bincount(self.inverse, weights=weights * self.y, minlength=self.size)
        negative = np.bincount(self.inverse, weights=weights * ~self.y, minlength=self.size)
        total_positive, total_negative = positive.sum(), negative.sum()
        if total_positive <= 0 or total_negative <= 0:
            return None
        below = np.cumsum(negative) - negative
        return float((positive * (below + 0.5 * negative)).sum() / (total_positive * total_negative))


def group_weights(groups: np.ndarray, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """One row weighting per resample: how often each row is drawn when whole groups are drawn with
    replacement (one at a time, so memory stays one row of weights)."""
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    count = int(codes.max()) + 1 if len(codes) else 0
    rng = np.random.default_rng(seed)
    for _ in range(resamples if count else 0):
        multiplicity = np.bincount(rng.integers(0, count, size=count), minlength=count)
        yield multiplicity[codes].astype(np.float64)


def _percentiles(values: list[float], level: float) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.asarray(values), [tail, 100 - tail])
    return float(low), float(high)


def auc_interval(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float | None, float | None]:
    """Percentile interval of the ROC AUC under a bootstrap over groups (None, None with one class)."""
    if roc_auc(y, p) is None:
        return None, None
    auc = _WeightedAuc(y, p)
    values = [v for w in group_weights(groups, resamples, seed) if (v := auc(w)) is not None]
    return _percentiles(values, level)


def auc_difference(
    y: np.ndarray,
    p_new: np.ndarray,
    p_old: np.ndarray,
    groups: np.ndarray,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float | None]:
    """AUC(new) - AUC(old) on the same rows, with a paired percentile interval (both models scored on every
    resample of groups, so the variation they share cancels out)."""
    new_auc, old_auc = roc_auc(y, p_new), roc_auc(y, p_old)
    if new_auc is None or old_auc is None:
        return {"difference": None, "low": None, "high": None}
    new, old = _WeightedAuc(y, p_new), _WeightedAuc(y, p_old)
    values = []
    for weights in group_weights(groups, resamples, seed):
        a, b = new(weights), old(weights)
        if a is not None and b is not None:
            values.append(a - b)
    low, high = _percentiles(values, level)
    return {"difference": new_auc - old_auc, "low": low, "high": high}


def threshold_interval(
    y: np.ndarray,
    p: np.ndarray,
    groups: np.ndarray,
    target: float,
    *,
    resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float | None, float | None, float]:
    """Percentile interval of the acceptance threshold under a bootstrap over groups, and the share of resamples
    in which no threshold reaches the target (the threshold is 1.0, accept nothing, there)."""
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    if not len(y):
        return None, None, 1.0
    rows = np.arange(len(y))
    values = []
    for weights in group_weights(groups, resamples, seed):
        drawn = np.repeat(rows, weights.astype(np.int64))
        values.append(threshold_for_precision(y[drawn], p[drawn], target)[0])
    low, high = _percentiles(values, level)
    return low, high, float(np.mean(np.asarray(values) >= 1.0))


def grouped_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per row such that **no group has rows in two folds** (a behaviour pair's candidates are
    near copies of one another: split row by row, a model is tested on what it was trained on), each fold with
    about the same share of Yes (scikit-learn's ``StratifiedGroupKFold``). Fewer folds when there are fewer
    groups; at least two groups are needed."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y).astype(np.int64)
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    count = int(codes.max()) + 1 if len(codes) else 0
    if count < 2:
        raise ValueError("grouped folds need at least two groups (behaviour pairs)")
    splits = min(folds, count)
    fold = np.empty(len(y), dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer members than folds: still a valid split
        for number, (_train, test) in enumerate(splitter.split(np.zeros(len(y)), y, codes)):
            fold[test] = number
    return fold


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
