"""What a classifier sees of a candidate: its head context, relation and tail, as plain strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def describe_head(
    *,
    head_kind: str,
    head_text: str = "",
    query: str | None = None,
    product: str | None = None,
    other_product: str | None = None,
    category: str | None = None,
) -> str:
    """The head as a classifier reads it: the behaviour in a few words (the same for stored candidates and for
    records read from an external file, so a model scores both alike)."""
    if head_kind == "search_buy":
        head = f"searched: {query or ''} | bought: {product or head_text}"
    elif head_kind == "co_buy":
        head = f"bought together: {product or head_text} | {other_product or ''}"
    else:
        head = head_text
    return f"{head} | category: {category}" if category else head


@dataclass(frozen=True)
class Example:
    """One candidate. ``head`` is the behaviour in words (query and product titles, or the two products),
    ``relation`` the relation slug, ``tail`` the LLM's explanation."""

    head: str
    relation: str
    tail: str

    def pair(self) -> tuple[str, str]:
        """The two segments a cross-encoder reads: the head, and the relation with the tail."""
        return self.head, f"{self.relation.replace('_', ' ')}: {self.tail}"


@dataclass
class Batch:
    """Examples plus features computed earlier and cached (``"hashed"``: a CSR matrix from ``HashedFeatures`` of
    the default scheme, ``"hashed:<scheme>"`` of any; ``"head_vectors"``/``"tail_vectors"``/``"joint_vectors"``:
    sentence embeddings). A model kind uses the cached features it needs and
    computes them from the examples otherwise."""

    examples: Sequence[Example]
    features: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.examples)

    def subset(self, rows: np.ndarray) -> Batch:
        rows = np.asarray(rows)
        return Batch(
            examples=[self.examples[int(i)] for i in rows],
            features={name: value[rows] for name, value in self.features.items()},
        )
