"""Generic tails: tails that say nothing about their head because they fit any head.

Whether a tail is generic is a property of the whole pool, not of a batch: "for daily use" generated for six
unrelated products in five categories is generic; the same tail for two blenders is not. ``TailStats`` holds
a tail's pool statistics. ``tail_stats_from_rows`` computes them in Python for tests and small pools; the
Django layer computes the same numbers with one SQL ``GROUP BY`` for big pools and passes them to
``build_rules(..., tail_stats=...)``. A built-in list of known generic phrases fires without any statistics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from filtering.rules.base import Rule, quoted
from filtering.rules.context import Facts
from filtering.types import Verdict


@dataclass(frozen=True, slots=True)
class TailStats:
    """Pool statistics of one normalised tail.

    ``heads`` counts the distinct heads the tail was generated for; ``category_heads`` the distinct heads per
    product category (a co_buy head counts once in each of its categories). Heads without a category count in
    ``heads`` only; an empty category name in ``category_heads`` (SQL's ``COALESCE(name, '')``) is ignored by
    ``categories`` and ``entropy``.
    """

    heads: int
    category_heads: dict[str, int] = field(default_factory=dict)

    @property
    def categories(self) -> int:
        """How many categories the tail's heads fall in."""
        return sum(1 for category, count in self.category_heads.items() if count > 0 and category)

    @property
    def entropy(self) -> float:
        """Shannon entropy, in bits, of the distribution of the tail's heads over categories (0 for one).

        High entropy means the heads are spread evenly over many categories: log2(k) for k equal categories.
        """
        counts = [count for category, count in self.category_heads.items() if count > 0 and category]
        total = sum(counts)
        if total == 0:
            return 0.0
        return max(0.0, -sum(count / total * math.log2(count / total) for count in counts))


def tail_stats_from_rows(rows: Iterable[tuple[str, str, str]]) -> dict[str, TailStats]:
    """``TailStats`` per tail from ``(tail_norm, head_key, category)`` rows, one per candidate and category.

    Duplicate rows are harmless (heads are counted distinct); an empty category adds the head only. This is
    the reference for the SQL the Django layer runs: ``COUNT(DISTINCT head)`` per tail, and per tail and category.
    """
    heads: dict[str, set[str]] = {}
    by_category: dict[str, dict[str, set[str]]] = {}
    for tail_norm, head_key, category in rows:
        heads.setdefault(tail_norm, set()).add(head_key)
        if category:
            by_category.setdefault(tail_norm, {}).setdefault(category, set()).add(head_key)
    return {
        tail: TailStats(
            heads=len(keys),
            category_heads={category: len(members) for category, members in sorted(by_category.get(tail, {}).items())},
        )
        for tail, keys in heads.items()
    }


@dataclass(frozen=True, slots=True)
class GenericParams:
    min_distinct_heads: int
    min_distinct_categories: int
    min_category_entropy: float
    known_generic_tails: tuple[str, ...]


class GenericRule(Rule):
    """Fires on a known generic phrase, or on a tail whose pool statistics meet all three thresholds.

    The statistics test is heads >= ``min_distinct_heads`` and categories >= ``min_distinct_categories`` and
    entropy >= ``min_category_entropy``. Tails meeting it are found once, when the rule is built, so checking
    a candidate is one dictionary lookup. Without ``tail_stats`` only the known phrases apply.
    """

    name = "generic"
    Params = GenericParams
    params: GenericParams

    def __init__(self, params: GenericParams, *, tail_stats: Mapping[str, TailStats] | None = None) -> None:
        super().__init__(params)
        self._known = frozenset(params.known_generic_tails)
        # tail -> (score, reason, extra) for every tail whose statistics pass, so a check is one lookup.
        self._flagged: dict[str, tuple[float, str, dict[str, object]]] = {}
        for tail, stats in (tail_stats or {}).items():
            if self.is_generic(stats):
                self._flagged[tail] = self._evidence(stats)

    @classmethod
    def from_config(cls, section: Mapping[str, object], **context: Any) -> Rule:
        values: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value for key, value in section.items()
        }
        values.pop("enabled", None)
        return cls(GenericParams(**values), tail_stats=context.get("tail_stats"))

    def is_generic(self, stats: TailStats) -> bool:
        params = self.params
        return (
            stats.heads >= params.min_distinct_heads
            and stats.categories >= params.min_distinct_categories
            and stats.entropy >= params.min_category_entropy
        )

    def inspect(self, facts: Facts) -> Verdict | None:
        norm = facts.norm
        if norm in self._known or facts.core in self._known:
            return self.verdict(1.0, f"tail is a known generic phrase {quoted(norm)}", known=True)
        flagged = self._flagged.get(norm)
        if flagged is None:
            return None
        score, reason, extra = flagged
        return self.verdict(score, reason, **extra)

    @staticmethod
    def _evidence(stats: TailStats) -> tuple[float, str, dict[str, object]]:
        """Score (how evenly the heads spread over their categories), reason and extra of a generic tail."""
        categories = stats.categories
        entropy = stats.entropy
        evenness = entropy / math.log2(categories) if categories > 1 else 1.0
        reason = (
            f"tail occurs with {stats.heads} different heads across {categories} categories "
            f"(entropy {entropy:.2f} bits)"
        )
        return evenness, reason, {"heads": stats.heads, "categories": categories, "entropy": round(entropy, 4)}
