"""The plain data that filtering works on. Pure Python: no Django, no numpy, no torch.

The Django layer (filtering/services.py) reads candidates from the database into ``CandidateText`` objects,
runs the pure rules and the similarity filter over them, and stores their ``Verdict``s in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CandidateText:
    """What the filters may look at for one candidate.

    ``head_key`` identifies the head ("pair:<id>" for a behaviour pair, "text:<normalised head>" for plain heads):
    candidates with equal ``head_key`` share their head. ``titles`` holds the product titles of the head (one
    for search_buy, two for co_buy, none for plain heads); ``categories`` the category names of those products.
    """

    id: int
    relation: str
    tail: str
    tail_norm: str
    head_key: str
    head_kind: str = "search_buy"
    query: str = ""
    titles: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    head_text: str = ""
    support: int = 1

    @property
    def head_context(self) -> str:
        """The head as one text: the query and the product titles, or the plain head text."""
        parts = [self.query, *self.titles, self.head_text]
        return " | ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's decision to drop a candidate: which rule, how strongly (a score) and why, in words."""

    rule: str
    score: float
    reason: str
    extra: dict[str, object] = field(default_factory=dict)
