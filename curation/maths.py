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
