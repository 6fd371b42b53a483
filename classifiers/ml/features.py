"""Hashed n-gram features: computed once per candidate, independent of any model version, so they can be cached.

Two schemes, named because cached rows and saved models are keyed by the name:

- ``hashed-v2`` (the default): v1's blocks plus features that see head, relation and tail **together**: the
  word 1-2-grams of one joint text ``"head, relation, tail"``, every (head word, tail word) pair hashed into its
  own block (**cross features**), and the overlap of head and tail words (how many tail words the head already
  says, in buckets: an echo of the query or the title is not knowledge). A linear model over separate head and
  tail blocks can only add a head score to a tail score, so it cannot learn that a tail fits one kind of product
  and not another; the pairs let it. Figures: docs/classifiers.md.
- ``hashed-v1`` (models trained before): the head, the tail and relation-tagged tail words in separate column
  blocks. Kept so that those artifacts still load and score from their cached rows, and for comparison.

A char n-gram hashing transform runs at only a few thousand strings per second on one core, which is why a
rescoring must not redo it: the Django side stores these rows per (scheme, id range), see ``feature_store``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from classifiers.ml.data import Example

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Changing any parameter of a scheme must change its name: cached rows and saved models are keyed by it.
SCHEME = "hashed-v2"
SCHEME_V1 = "hashed-v1"
SCHEMES = (SCHEME, SCHEME_V1)
_WORD_FEATURES = 2**18
_CHAR_FEATURES = 2**18
_TAGGED_FEATURES = 2**16
_CROSS_FEATURES = 2**18
_OVERLAP_FEATURES = 2**8
N_FEATURES_V1 = 2 * (_WORD_FEATURES + _CHAR_FEATURES) + _TAGGED_FEATURES
N_FEATURES_V2 = N_FEATURES_V1 + _WORD_FEATURES + _CROSS_FEATURES + _OVERLAP_FEATURES
N_FEATURES = N_FEATURES_V2
_N_FEATURES = {SCHEME: N_FEATURES_V2, SCHEME_V1: N_FEATURES_V1}

#: Words that carry no meaning in a (head word, tail word) pair; the head's labels ("searched", "bought",
#: "category") are left out for the same reason.
_STOP_WORDS = (
    "a an the and or of to in on for with by at from as is it its be are was this that these those into "
    "your you their his her our my can will not no so than then also very more most searched bought "
    "together category"
)
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")


def n_features(scheme: str) -> int:
    if scheme not in _N_FEATURES:
        raise ValueError(f"unknown feature scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    return _N_FEATURES[scheme]


def joint_text(example: Example) -> str:
    """The candidate as one text, ``"head, relation, tail"`` (what the joint features and the encoder read)."""
    return f"{example.head}, {example.relation.replace('_', ' ')}, {example.tail}"


def _content_words(text: str) -> list[str]:
    return sorted({w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in _STOP})


def cross_tokens(example: Example) -> str:
    """Every (head word, tail word) pair as one token (counts stay integers: the feature store keeps uint8)."""
    tail_words = _content_words(example.tail)
    head_words = _content_words(example.head)
    pairs = [f"{h}^{t}" for h in head_words for t in tail_words]
    return " ".join(pairs)


def overlap_tokens(example: Example) -> str:
    """How much of the tail the head already says: one ``shared`` token per tail word found in the head, the
    shared share in quarters, and the tail's length in words (capped)."""
    head_words = set(_content_words(example.head))
    tail_words = _content_words(example.tail)
    shared = sum(1 for word in tail_words if word in head_words)
    share = shared / max(len(tail_words), 1)
    return " ".join(["shared"] * shared + [f"share:{int(share * 4)}", f"tail_words:{min(len(tail_words), 6)}"])


class HashedFeatures:
    """Stateless: the same example always gives the same row (counts, float32, not normalised)."""

    def __init__(self, scheme: str = SCHEME) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.scheme = scheme
        self.n_features = n_features(scheme)
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
        self._overlap = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 1),
            n_features=_OVERLAP_FEATURES,
            token_pattern=r"\S+",  # noqa: S106 (a regular expression, not a password)
            **common,
        )
        self._cross = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 1),
            n_features=_CROSS_FEATURES,
            token_pattern=r"\S+",  # noqa: S106 (a regular expression, not a password)
            **common,
        )

    def _text_block(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import hstack

        return hstack([self._words.transform(texts), self._chars.transform(texts)], format="csr")

    def _tagged_block(self, examples: Sequence[Example]) -> csr_matrix:
        tagged = [
            " ".join(f"{e.relation}:{word}" for word in e.tail.lower().split()) + f" relation:{e.relation}"
            for e in examples
        ]
        return self._tagged.transform(tagged)

    def transform(self, examples: Sequence[Example]) -> csr_matrix:
        from scipy.sparse import csr_matrix, hstack

        if not examples:
            return csr_matrix((0, self.n_features), dtype=np.float32)
        heads: dict[str, int] = {}
        head_rows = np.fromiter((heads.setdefault(e.head, len(heads)) for e in examples), dtype=np.int64)
        head_block = self._text_block(list(heads))[head_rows]
        tail_block = self._text_block([e.tail for e in examples])
        blocks = [head_block, tail_block, self._tagged_block(examples)]
        if self.scheme != SCHEME_V1:
            blocks += [
                self._words.transform([joint_text(e) for e in examples]),
                self._cross.transform([cross_tokens(e) for e in examples]),
                self._overlap.transform([overlap_tokens(e) for e in examples]),
            ]
        return hstack(blocks, format="csr", dtype=np.float32)
