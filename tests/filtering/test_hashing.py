"""filtering/hashing.py: numpy's MurmurHash3 columns are scikit-learn's, n-gram for n-gram."""

from __future__ import annotations

import random
import string

import numpy as np
from scipy.sparse import csr_matrix

from filtering.hashing import char_wb_columns, murmur3_columns, string_columns

N_FEATURES = 2**20
COMMON = {"n_features": N_FEATURES, "alternate_sign": False, "norm": None, "dtype": np.float32}


def _random_words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + string.punctuation
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 23))) for _ in range(count)]


def test_every_length_hashes_as_scikit_learns_murmurhash3() -> None:
    from sklearn.utils import murmurhash3_32  # noqa: TID251 (the reference)

    rng = random.Random(3)
    strings = [bytes(rng.randrange(256) for _ in range(length)) for length in range(41) for _ in range(25)]
    lengths = np.array([len(value) for value in strings])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    buffer = np.frombuffer(b"".join(strings), dtype=np.uint8)

    columns = murmur3_columns(buffer, starts, lengths, N_FEATURES)

    expected = [abs(murmurhash3_32(value, seed=0)) % N_FEATURES for value in strings]
    assert columns.tolist() == expected
    assert len(set(expected)) > 900  # the strings really differ: a constant would not pass


def test_strings_get_the_columns_of_a_one_feature_hashing_vectorizer() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer  # noqa: TID251 (the reference)

    strings = [*_random_words(3000, seed=1), "über straße", "日本 語", "a b", "", "x" * 77]
    reference = HashingVectorizer(analyzer=lambda text: [text], **COMMON).transform(strings)

    assert string_columns(strings, N_FEATURES).tolist() == reference.indices.tolist()
    assert string_columns([], N_FEATURES).shape == (0,)


def test_char_wb_grams_of_ascii_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer  # noqa: TID251 (the reference)

    # lowercased, as the TF-IDF encoder gives them (scikit-learn's analyser lowercases first)
    words = ["a", "ab", "abc", "abcd", "abcdefghijklmnopqrstuvwxyz", *(w.lower() for w in _random_words(5000, seed=2))]
    reference = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **COMMON).transform(words)

    rows, columns = char_wb_columns(words, N_FEATURES)
    counts = csr_matrix((np.ones(len(columns), dtype=np.float32), (rows, columns)), shape=reference.shape)

    assert abs(counts - reference).max() == 0
    assert counts.sum() == reference.sum() > 5000
    empty_rows, empty_columns = char_wb_columns([], N_FEATURES)
    assert len(empty_rows) == len(empty_columns) == 0
