"""The database-backed embedding cache (the ``EmbeddingCache`` protocol of filtering/similarity.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from filtering.models import TextEmbedding


class DatabaseEmbeddingCache:
    """Vectors keyed by (model key, text hash) in ``TextEmbedding``; reads and writes in slices of 1,000."""

    def get_many(self, model_key: str, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 1000):
            rows: Iterable[tuple[str, Any]] = TextEmbedding.objects.filter(
                model_key=model_key, text_hash__in=keys[start : start + 1000]
            ).values_list("text_hash", "vector")
            for text_hash, vector in rows:
                found[text_hash] = np.frombuffer(bytes(vector), dtype="<f4")
        return found

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        TextEmbedding.objects.bulk_create(
            [
                TextEmbedding(model_key=model_key, text_hash=key, vector=np.asarray(vector, dtype="<f4").tobytes())
                for key, vector in items.items()
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
