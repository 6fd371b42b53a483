"""Inter-annotator agreement over yes/no answers: percent agreement, Cohen's kappa, Krippendorff's alpha, Gwet's AC1.

An answer is ``(item, annotator, value)``; items and annotators are any hashable, values are booleans (True = Yes).
Missing data is the normal case (each item is seen by a few annotators only), so every coefficient here is defined
over whatever answers exist. One annotator may answer an item at most once: a duplicate raises ``ValueError``
rather than being silently counted twice (the Django layer decides which answer is the current one).

Conventions for degenerate data, the same in every function:

* ``None`` when there is nothing to compare (no item with two answers, no shared item);
* ``1.0`` when every comparable value is identical, where the chance-corrected formula is 0/0. All annotators
  agreeing on every item is perfect agreement, and a dashboard should say so rather than show a gap.

Pure standard-library Python, no Django import; deterministic for a given input order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from itertools import combinations
from typing import TypeVar

ItemT = TypeVar("ItemT", bound=Hashable)
AnnotatorT = TypeVar("AnnotatorT", bound=Hashable)
ValueT = TypeVar("ValueT", bound=Hashable)

__all__ = [
    "answers_by_item",
    "cohen_kappa",
    "gwet_ac1",
    "krippendorff_alpha_nominal",
    "pairwise_cohen_kappa",
    "percent_agreement",
]


def answers_by_item(
    answers: Iterable[tuple[ItemT, AnnotatorT, ValueT]],
) -> dict[ItemT, dict[AnnotatorT, ValueT]]:
    """Group answers as ``{item: {annotator: value}}`` in first-seen order; a repeated (item, annotator) raises."""
    grouped: dict[ItemT, dict[AnnotatorT, ValueT]] = {}
    for item, annotator, value in answers:
        per_item = grouped.setdefault(item, {})
        if annotator in per_item:
            raise ValueError(f"annotator {annotator!r} answered item {item!r} more than once")
        per_item[annotator] = value
    return grouped


def _pair_key(a: AnnotatorT, b: AnnotatorT) -> tuple[AnnotatorT, AnnotatorT]:
    """Order an annotator pair by natural sort order, falling back to ``repr`` for incomparable ids."""
    try:
        return (a, b) if a <= b else (b, a)  # type: ignore[operator]
    except TypeError:
        return (a, b) if repr(a) <= repr(b) else (b, a)


def percent_agreement(answers: Iterable[tuple[Hashable, Hashable, bool]]) -> float | None:
    """Observed agreement: over items with >= 2 answers, the mean share of agreeing pairs of answers on the item.

    For an item with ``y`` Yes and ``n`` No answers (``r = y + n``) the share is
    ``(y(y-1) + n(n-1)) / (r(r-1))``; each item weighs the same however many answers it has. This is ``p_a`` of
    Fleiss' kappa and Gwet's AC1. ``None`` when no item has two answers.
    """
    shares = [_item_agreement(values) for values in _binary_values(answers) if len(values) >= 2]
    if not shares:
        return None
    return sum(shares) / len(shares)


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa for two raters over the items both rated, given as ``(rater_a, rater_b)`` value pairs.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_e = P_a(Yes) P_b(Yes) + P_a(No) P_b(No)``. ``None`` for no pairs;
    ``1.0`` when ``p_e = 1`` (both raters gave one and the same value throughout). Kappa can be low or negative
    with high raw agreement when one value dominates (the "kappa paradox"); see ``gwet_ac1``.
    """
    n = len(pairs)
    if n == 0:
        return None
    agree = sum(1 for a, b in pairs if bool(a) == bool(b))
    a_yes = sum(1 for a, _ in pairs if a) / n
    b_yes = sum(1 for _, b in pairs if b) / n
    p_o = agree / n
    p_e = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
    if p_e >= 1.0:
        return 1.0
    return (p_o - p_e) / (1 - p_e)


def pairwise_cohen_kappa(
    answers: Iterable[tuple[Hashable, AnnotatorT, bool]],
) -> dict[tuple[AnnotatorT, AnnotatorT], tuple[float | None, int]]:
    """Cohen's kappa for every pair of annotators sharing at least one item: ``{(a, b): (kappa, shared_items)}``.

    Keys are ordered (``a < b`` by natural order, or by ``repr`` when ids don't compare); pairs that share no item
    are absent. The number of shared items is returned because a kappa over three items means little.
    """
    shared: dict[tuple[AnnotatorT, AnnotatorT], list[tuple[bool, bool]]] = {}
    for per_item in answers_by_item(answers).values():
        for a, b in combinations(per_item, 2):
            key = _pair_key(a, b)
            shared.setdefault(key, []).append((bool(per_item[key[0]]), bool(per_item[key[1]])))
    return {key: (cohen_kappa(pairs), len(pairs)) for key, pairs in shared.items()}


def krippendorff_alpha_nominal(answers: Iterable[tuple[Hashable, Hashable, Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data with missing values, via the coincidence matrix.

    Only items with >= 2 answers are pairable. Each such item ``u`` with ``m_u`` values adds, for every ordered
    pair of its values from different annotators, ``1 / (m_u - 1)`` to the coincidence ``o[c, k]``. With
    ``n_c = sum_k o[c, k]`` and ``n = sum_c n_c`` (the number of pairable values)::

        alpha = 1 - (n - 1) * sum_{c != k} o[c, k] / sum_{c != k} n_c * n_k

    Values may be any hashable (bool for our questions; the function is not limited to two categories so that it
    can be checked against Krippendorff's published examples). ``None`` when there are no pairable values; ``1.0``
    when all pairable values are identical (expected disagreement 0).
    """
    coincidence: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for per_item in answers_by_item(answers).values():
        m = len(per_item)
        if m < 2:
            continue
        counts = Counter(per_item.values())
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    coincidence[c, k] += pairs / (m - 1)
    if not coincidence:
        return None
    marginals: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _), o in coincidence.items():
        marginals[c] += o
    n = sum(marginals.values())
    observed = sum(o for (c, k), o in coincidence.items() if c != k)
    expected = sum(n_c * n_k for c, n_c in marginals.items() for k, n_k in marginals.items() if c != k)
    if expected == 0:
        return 1.0
    return 1 - (n - 1) * observed / expected


def gwet_ac1(answers: Iterable[tuple[Hashable, Hashable, bool]]) -> float | None:
    """Gwet's AC1 (Gwet 2008) for two categories, any number of raters, missing data allowed.

    ``p_a`` is ``percent_agreement`` (items with >= 2 answers); ``pi`` is the mean over items with >= 1 answer of
    the item's share of Yes answers; ``p_e = 2 pi (1 - pi)``; ``AC1 = (p_a - p_e) / (1 - p_e)``. Because ``p_e``
    is small when one value dominates, AC1 stays high where kappa and alpha collapse. ``None`` when no item has two
    answers. ``p_e <= 0.5`` always, so the ratio is always defined.
    """
    values_per_item = _binary_values(answers)
    shares = [_item_agreement(values) for values in values_per_item if len(values) >= 2]
    if not shares:
        return None
    p_a = sum(shares) / len(shares)
    pi = sum(sum(values) / len(values) for values in values_per_item) / len(values_per_item)
    p_e = 2 * pi * (1 - pi)
    return (p_a - p_e) / (1 - p_e)


def _binary_values(answers: Iterable[tuple[Hashable, Hashable, bool]]) -> list[list[bool]]:
    return [[bool(v) for v in per_item.values()] for per_item in answers_by_item(answers).values()]


def _item_agreement(values: Sequence[bool]) -> float:
    r = len(values)
    yes = sum(values)
    no = r - yes
    return (yes * (yes - 1) + no * (no - 1)) / (r * (r - 1))
