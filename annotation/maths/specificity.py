"""Query specificity and annotation priority.

COSMO spends human effort first on broad, ambiguous queries ("gift", "camping") whose purchases spread over many
categories: their intentions are the least obvious and the most reused. A query's breadth is measured by the
entropy of the categories bought after it. Pure standard-library Python, no Django import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "DEFAULT_K_MAX",
    "DEFAULT_PRIORITY_WEIGHTS",
    "SUPPORT_SATURATION",
    "category_entropy",
    "priority",
    "query_specificity",
]

#: Number of categories at which a uniform spread counts as fully broad (specificity 0).
DEFAULT_K_MAX = 16
#: Support (behaviour count) at which the support term of ``priority`` reaches its maximum of 1.
SUPPORT_SATURATION = 1000
DEFAULT_PRIORITY_WEIGHTS: Mapping[str, float] = {"broad": 1.0, "support": 0.5, "uncertainty": 2.0}


def category_entropy(counts: Mapping[str, int]) -> float:
    """Shannon entropy in bits of the category distribution ``counts / sum(counts)``.

    Zero counts are ignored, negative counts raise ``ValueError``; no purchases at all give 0.0.
    """
    if any(c < 0 for c in counts.values()):
        raise ValueError("category counts must be non-negative")
    total = sum(counts.values())
    if total == 0:
        return 0.0
    entropy = -sum((c / total) * math.log2(c / total) for c in counts.values() if c > 0)
    return max(entropy, 0.0)


def query_specificity(counts: Mapping[str, int], *, k_max: int = DEFAULT_K_MAX) -> float:
    """``1 - H / log2(k_max)`` clipped to [0, 1]: 1.0 for a query bought in one category, 0.0 for a uniform spread
    over ``k_max`` or more categories.

    ``k_max`` fixes the scale so that specificities of different queries compare (normalising by each query's own
    number of categories would call a 50/50 split between two categories as broad as a spread over twenty). A query
    with no purchases has no measurable specificity: that raises ``ValueError``; pass ``None`` to ``priority``.
    """
    if k_max < 2:
        raise ValueError("k_max must be at least 2")
    if sum(counts.values()) <= 0:
        raise ValueError("specificity needs at least one purchase")
    value = 1.0 - category_entropy(counts) / math.log2(k_max)
    return min(1.0, max(0.0, value))


def priority(
    *,
    specificity: float | None,
    support: int,
    uncertainty: float | None,
    weights: Mapping[str, float] = DEFAULT_PRIORITY_WEIGHTS,
) -> float:
    """Annotation priority of a candidate; higher is asked sooner.

    ``w_broad * (1 - specificity) + w_support * min(1, log1p(support) / log1p(1000)) + w_uncertainty * uncertainty``

    * ``specificity`` of the candidate's query in [0, 1]; unknown (None) counts as 0.5, neither broad nor specific;
    * ``support``: how many behaviours back the candidate, on a log scale saturating at ``SUPPORT_SATURATION``;
    * ``uncertainty`` in [0, 1] (e.g. how close a classifier's or Dawid-Skene's P(Yes) is to 0.5); None is 0,
      so a candidate nobody has scored is not pushed forward for it.

    ``weights`` may give any of the keys ``broad``, ``support``, ``uncertainty`` (the others keep
    ``DEFAULT_PRIORITY_WEIGHTS``); an unknown key raises ``ValueError`` so that a misspelt weight is not ignored.
    """
    unknown = set(weights) - set(DEFAULT_PRIORITY_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown priority weight(s): {', '.join(sorted(unknown))}")
    w = {**DEFAULT_PRIORITY_WEIGHTS, **weights}
    if support < 0:
        raise ValueError("support must be non-negative")
    for name, value in (("specificity", specificity), ("uncertainty", uncertainty)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    breadth = 0.5 if specificity is None else 1.0 - specificity
    support_term = min(1.0, math.log1p(support) / math.log1p(SUPPORT_SATURATION))
    uncertainty_term = 0.0 if uncertainty is None else uncertainty
    return w["broad"] * breadth + w["support"] * support_term + w["uncertainty"] * uncertainty_term
