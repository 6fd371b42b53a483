"""Hashed n-gram features: computed once per candidate, independent of any model version, so they can be cached.

The head, the tail and relation-tagged tail words hash into separate column blocks, so a linear model learns
tail words apart from head words and, per relation, which tails fit. Heads repeat across many candidates (one
behaviour pair has several explanations), so each distinct head is vectorised once per call.

A char n-gram hashing transform runs at only a few thousand strings per second on one core, which is why a
rescoring must not redo it: the Django side stores these rows per id range (see ``classifiers.feature_store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from classifiers.ml.data import Example

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Changing any parameter below must change this name: cached rows are keyed by it.
SCHEME = "hashed-v1"
_WORD_FEATURES = 2**18
_CHAR_FEATURES = 2**18
_TAGGED_FEATURES = 2**16
N_FEATURES = 2 * (_WORD_FEATURES + _CHAR_FEATURES) + _TAGGED_FEATURES


class HashedFeatures:
    """Stateless: the same example always gives the same row (counts, float32, not normalised)."""

    scheme = SCHEME
    n_features = N_FEATURES

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        common = {"alternate_sign": False, "norm": None, "dtype": np.float32, "lowercase": True}
        self._words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=_WORD_FEATURES, **common)
        self._chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=_CHAR_FEATURES, **common)
        self._tagged = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 1),
            n_features=_TAGGED_FEATURES,
            token_pattern=r"\S+",  # noqa: S106 (a regular expression, not a password)
            **common,
        )

    def _text_block(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import hstack

        return hstack([self._words.transform(texts), self._chars.transform(texts)], format="csr")

    def transform(self, examples: Sequence[Example]) -> csr_matrix:
        from scipy.sparse import csr_matrix, hstack

        if not examples:
            return csr_matrix((0, N_FEATURES), dtype=np.float32)
        heads: dict[str, int] = {}
        head_rows = np.fromiter((heads.setdefault(e.head, len(heads)) for e in examples), dtype=np.int64)
        head_block = self._text_block(list(heads))[head_rows]
        tail_block = self._text_block([e.tail for e in examples])
        tagged = [
            " ".join(f"{e.relation}:{word}" for word in e.tail.lower().split()) + f" relation:{e.relation}"
            for e in examples
        ]
        tagged_block = self._tagged.transform(tagged)
        return hstack([head_block, tail_block, tagged_block], format="csr", dtype=np.float32)
