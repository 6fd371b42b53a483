"""Audit statistics for review batches: sample sizes and Wilson intervals. Pure Python, no Django."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z_95 = 1.959963984540054  # two-sided 95%


def wilson_interval(successes: int, n: int, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (good for small n and proportions near 0 or 1, where the normal
    approximation overshoots [0, 1]). (0, 1) when n is 0."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def audit_sample_size(population: int, half_width: float, *, z: float = Z_95, expected: float = 0.5) -> int:
    """How many of ``population`` items to audit so the 95% interval on the batch's precision has about
    ``half_width`` on each side: ``n0 = z^2 p (1 - p) / h^2`` at the worst case p = 0.5, with the finite population
    correction ``n = n0 / (1 + (n0 - 1) / N)``, at least 1 and at most the whole batch."""
    if population <= 0:
        return 0
    if not 0 < half_width < 1:
        raise ValueError("half_width must be between 0 and 1")
    n0 = z * z * expected * (1 - expected) / (half_width * half_width)
    return max(1, min(population, math.ceil(n0 / (1 + (n0 - 1) / population))))


def histogram(values: Sequence[float], *, bins: int = 10, low: float = 0.0, high: float = 1.0) -> list[int]:
    """Counts of ``values`` in ``bins`` equal bins over [low, high] (the last bin includes ``high``)."""
    counts = [0] * bins
    width = (high - low) / bins
    for value in values:
        index = int((value - low) / width) if width else 0
        counts[min(max(index, 0), bins - 1)] += 1
    return counts


def proportion_interval(p: float, n_effective: float, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson interval for an estimated proportion ``p`` with an effective sample size (not necessarily a
    whole number); ``(p, p)`` when the effective size is infinite (the whole population was audited)."""
    if n_effective <= 0:
        return 0.0, 1.0
    if math.isinf(n_effective):
        return p, p
    z2 = z * z
    centre = (p + z2 / (2 * n_effective)) / (1 + z2 / n_effective)
    half = z * math.sqrt(p * (1 - p) / n_effective + z2 / (4 * n_effective**2)) / (1 + z2 / n_effective)
    return max(0.0, centre - half), min(1.0, centre + half)


def stratified_estimate(strata: Sequence[tuple[int, int, int]], *, z: float = Z_95) -> dict[str, float | None]:
    """The precision of a population audited by stratum, from ``(N_h, yes_h, no_h)`` per stratum.

    The estimate weights each stratum's proportion by its share of the population, ``p = sum(W_h p_h)`` with
    ``W_h = N_h / N`` (so an oversampled small stratum counts for its size, not for its answers). Its interval is
    Wilson's at Kish's effective sample size ``n_eff = 1 / sum(W_h^2 (1 - f_h) / n_h)``, ``f_h = n_h / N_h``: the
    sample size a simple random sample would need for the same variance, with the finite population correction
    (a fully audited stratum adds no uncertainty; when every stratum is fully audited the precision is known).
    Wilson's form keeps the interval inside [0, 1] and honest at p = 1, where a variance estimate is 0.
    Strata with no answer yet are left out and the weights renormalised (the estimate is partial until
    every stratum is answered). ``precision`` is None with no answer at all."""
    answered = [(size, yes, no) for size, yes, no in strata if yes + no > 0 and size > 0]
    audited = sum(yes + no for _size, yes, no in answered)
    if not answered:
        return {"precision": None, "wilson_low": 0.0, "wilson_high": 1.0, "effective_n": 0.0, "audited": 0}
    population = sum(size for size, _yes, _no in answered)
    precision = sum(size / population * yes / (yes + no) for size, yes, no in answered)
    precision = min(1.0, max(0.0, precision))
    inverse = sum((size / population) ** 2 * max(0.0, 1 - (yes + no) / size) / (yes + no) for size, yes, no in answered)
    effective = math.inf if inverse == 0 else 1 / inverse
    low, high = proportion_interval(precision, effective, z=z)
    return {
        "precision": precision,
        "wilson_low": low,
        "wilson_high": high,
        "effective_n": None if math.isinf(effective) else effective,
        "audited": audited,
    }
