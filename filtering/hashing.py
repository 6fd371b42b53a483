"""scikit-learn's feature hashing, vectorised with numpy: the same columns for the same n-grams, many at once.

``HashingVectorizer`` hashes each n-gram with MurmurHash3 (x86, 32 bit, seed 0) of its UTF-8 bytes, called once
per n-gram from Python; at a million candidates that call and the analyser's per-word Python loop were a third of
the TF-IDF similarity's time. Here the n-grams of a whole chunk are hashed in numpy over one byte buffer, blocks of
four bytes at a time for all of them together. The columns are those of scikit-learn
(``abs(signed hash) % n_features``, ``-2**31`` mapped as it maps it), so the TF-IDF rows, and the filter's
decisions, do not change (tests compare both with scikit-learn on random and non-ASCII text). numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_M5 = np.uint32(5)
_N1 = np.uint32(0xE6546B64)
_F1 = np.uint32(0x85EBCA6B)
_F2 = np.uint32(0xC2B2AE35)


def _rotl(x: np.ndarray, bits: int) -> np.ndarray:
    return (x << np.uint32(bits)) | (x >> np.uint32(32 - bits))


def _scramble(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def _fixed_length_hashes(data: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """MurmurHash3 (seed 0) of the ``length``-byte strings at ``starts`` of ``data`` (uint32, padded)."""
    hashes = np.zeros(len(starts), dtype=np.uint32)
    for block in range(length // 4):
        at = starts + 4 * block
        k = data[at] | (data[at + 1] << np.uint32(8)) | (data[at + 2] << np.uint32(16))
        k |= data[at + 3] << np.uint32(24)
        hashes ^= _scramble(k)
        hashes = _rotl(hashes, 13) * _M5 + _N1
    rest = length & 3
    if rest:
        at = starts + 4 * (length // 4)
        k = data[at].copy()
        if rest >= 2:
            k |= data[at + 1] << np.uint32(8)
        if rest == 3:
            k |= data[at + 2] << np.uint32(16)
        hashes ^= _scramble(k)
    hashes ^= np.uint32(length)
    hashes ^= hashes >> np.uint32(16)
    hashes *= _F1
    hashes ^= hashes >> np.uint32(13)
    hashes *= _F2
    hashes ^= hashes >> np.uint32(16)
    return hashes


def murmur3_columns(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray, n_features: int) -> np.ndarray:
    """The column scikit-learn's ``FeatureHasher`` gives each byte string ``buffer[starts[i] : starts[i] +
    lengths[i]]`` (``buffer``: uint8, the UTF-8 bytes of the n-grams), as int64. Strings of one length are hashed
    together, so every step is a plain array operation."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    hashes = np.empty(len(starts), dtype=np.uint32)
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    # Padded with four zero bytes, so that gathering a block or a tail never reads past the end.
    data = np.concatenate([np.asarray(buffer, dtype=np.uint8), np.zeros(4, dtype=np.uint8)]).astype(np.uint32)
    distinct = np.unique(lengths)
    with np.errstate(over="ignore"):
        if len(distinct) == 1:
            hashes = _fixed_length_hashes(data, starts, int(distinct[0]))
        else:
            order = np.argsort(lengths, kind="stable")
            bounds = np.searchsorted(lengths[order], distinct, side="right")
            begin = 0
            for length, end in zip(distinct.tolist(), bounds.tolist(), strict=True):
                rows = order[begin:end]
                hashes[rows] = _fixed_length_hashes(data, starts[rows], length)
                begin = end
    signed = hashes.view(np.int32).astype(np.int64)
    return np.abs(signed) % n_features  # abs(-2**31) % n is what scikit-learn's special case gives too


def string_columns(strings: Sequence[str], n_features: int) -> np.ndarray:
    """The ``FeatureHasher`` column of each string (one feature per string), as int64."""
    encoded = [text.encode("utf-8") for text in strings]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    starts = np.zeros(len(encoded), dtype=np.int64)
    if len(encoded) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    buffer = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return murmur3_columns(buffer, starts, lengths, n_features)


def char_wb_columns(
    words: Sequence[str], n_features: int, sizes: tuple[int, int] = (3, 5)
) -> tuple[np.ndarray, np.ndarray]:
    """(word row, column) of every hashed ``char_wb`` n-gram of ``words`` as scikit-learn's analyser makes them:
    the word padded with a space each side, every window of each size that fits (a padded word no longer than a
    size gives itself once and stops the sizes there). For words of ASCII characters only: the windows here are
    bytes, scikit-learn's are characters, so other words must go through scikit-learn."""
    padded = [f" {word} " for word in words]
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    starts = np.zeros(len(padded), dtype=np.int64)
    if len(padded) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    data = np.frombuffer(("".join(padded) + "    ").encode("ascii"), dtype=np.uint8).astype(np.uint32)
    rows, columns = [], []
    low, high = sizes
    with np.errstate(over="ignore"):
        for size in range(low, high + 1):
            windows = np.maximum(lengths - size + 1, 0)
            total = int(windows.sum())
            word_rows = np.repeat(np.arange(len(padded), dtype=np.int64), windows)
            first = np.cumsum(windows) - windows
            gram_starts = np.repeat(starts - first, windows) + np.arange(total, dtype=np.int64)
            hashes = _fixed_length_hashes(data, gram_starts, size)
            rows.append(word_rows)
            columns.append(np.abs(hashes.view(np.int32).astype(np.int64)) % n_features)
    return np.concatenate(rows), np.concatenate(columns)
