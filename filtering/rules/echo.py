"""Echo: the tail repeats the head (the query, the product titles, the product type or the plain head text).

The product type is guessed from each title (``context.product_types``: the last one and two words of the title's
head noun phrase). Category names are a source too, but not by default: on the demo set they only removed good
location tails ("the kitchen" for a blender in Kitchen) and no echo.

Three measures, each against the head texts of ``context.HeadFacts``:

- exact: the normalised tail equals a normalised head text, a leading article ignored ("a portable charger"),
  or both have the same content words ("for winter" and "winter", "a boot" and "boots");
- token overlap: |tail content tokens ∩ source content tokens| / |tail content tokens| above
  ``max_token_overlap`` when the tail has at least ``min_content_tokens`` content tokens (stopwords removed,
  plurals folded), so "boots for pregnant women in winter" echoes "winter boots for pregnant women" while
  "grip icy sidewalks" does not;
- edit similarity: 1 - Levenshtein / longer length above ``max_edit_similarity``, for near copies with a typo
  or an inflection. It is computed only when the two texts share a content token and their lengths allow the
  threshold (a bounded Levenshtein that stops as soon as the threshold is out of reach), which keeps it cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from filtering.rules.base import Rule, quoted
from filtering.rules.context import Facts
from filtering.types import Verdict

# Configuration source names -> the labels the head facts use for them.
SOURCE_LABELS = {
    "query": ("query",),
    "title": ("product title", "product titles"),
    "product_type": ("product type",),
    "category": ("category",),
    "head": ("head",),
}


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """The edit distance of ``a`` and ``b`` (insertions, deletions, substitutions, each 1).

    With ``limit``, any result above it is returned as ``limit + 1`` as soon as that is certain, which is what
    makes a thresholded comparison cheap. Common prefixes and suffixes are skipped first.
    """
    if a == b:
        return 0
    start = 0
    shortest = min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a = a[start : len(a) - end]
    b = b[start : len(b) - end]
    if len(a) > len(b):
        a, b = b, a
    if limit is not None and len(b) - len(a) > limit:
        return limit + 1
    if not a:
        return len(b)
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        best = i
        left = i
        for j, char_b in enumerate(b):
            value = previous[j] if char_a == char_b else previous[j] + 1
            above = previous[j + 1] + 1
            if above < value:
                value = above
            if left + 1 < value:
                value = left + 1
            current.append(value)
            left = value
            if value < best:
                best = value
        if limit is not None and best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def edit_similarity(a: str, b: str, floor: float = 0.0) -> float:
    """1 - levenshtein(a, b) / max(len(a), len(b)), in [0, 1]; 1.0 for two empty texts.

    A result below ``floor`` may be reported as any value below ``floor`` (the computation stops early).
    """
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    if min(len(a), len(b)) < floor * longest:
        return min(len(a), len(b)) / longest
    limit = int((1.0 - floor) * longest + 1e-9)
    return 1.0 - levenshtein(a, b, limit) / longest


@dataclass(frozen=True, slots=True)
class EchoParams:
    sources: tuple[str, ...]
    max_token_overlap: float
    max_edit_similarity: float
    min_content_tokens: int


class EchoRule(Rule):
    """Fires when the tail merely repeats a head text listed in ``sources`` (see the module docstring)."""

    name = "echo"
    Params = EchoParams
    params: EchoParams

    def __init__(self, params: EchoParams) -> None:
        super().__init__(params)
        self._labels = frozenset(label for source in params.sources for label in SOURCE_LABELS[source])

    def inspect(self, facts: Facts) -> Verdict | None:
        head = facts.head
        if not head.texts:
            return None
        labels = self._labels
        for source in head.exact.get(facts.core, ()):
            if source.label in labels:
                return self.verdict(1.0, f"tail repeats the {source.label} exactly", source=source.label)
        keys = facts.keys
        if not keys or keys.isdisjoint(head.keys):
            return None
        params = self.params
        if len(keys) >= params.min_content_tokens:
            limit = params.max_token_overlap
            for source in head.bags:
                shared = keys & source.keys
                if shared and len(shared) > limit * len(keys) and source.label in labels:
                    overlap = len(shared) / len(keys)
                    return self.verdict(
                        overlap,
                        f"tail repeats the {source.label} (token overlap {overlap:.2f})",
                        source=source.label,
                        token_overlap=round(overlap, 4),
                    )
        for source in head.same_keys.get(keys, ()):
            if source.label in labels:
                return self.verdict(
                    1.0,
                    f"tail repeats the {source.label} {quoted(source.norm)} (same content words)",
                    source=source.label,
                )
        floor = params.max_edit_similarity
        core = facts.core
        for source in head.texts:
            if not keys.isdisjoint(source.keys) and source.label in labels:
                similarity = edit_similarity(core, source.norm, floor)
                if similarity > floor:
                    return self.verdict(
                        similarity,
                        f"tail is nearly the {source.label} {quoted(source.norm)} (edit similarity {similarity:.2f})",
                        source=source.label,
                        edit_similarity=round(similarity, 4),
                    )
        return None
