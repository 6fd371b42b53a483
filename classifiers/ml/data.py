"""What a classifier sees of a candidate: its head context, relation and tail, as plain strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    """Examples plus features computed earlier and cached (``"hashed"``: a CSR matrix from ``HashedFeatures``;
    ``"head_vectors"``/``"tail_vectors"``: sentence embeddings). A model kind uses the cached features it needs and
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
