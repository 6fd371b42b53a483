"""Rows of unit length and what caches them: the ``Encoder`` protocol, the embedding caches (in memory, in an .npz
file; the database one is ``filtering.embedding_cache``), ``embed_with_cache`` and the row-wise cosine. Pure
(numpy), no Django."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

logger = logging.getLogger(__name__)

#: Rows of unit length: a dense float32 ``np.ndarray`` (n, d) or a scipy sparse CSR matrix (TF-IDF).
Vectors: TypeAlias = "np.ndarray | csr_matrix"


_ROW_CHUNK = 65_536  # rows per step when comparing tails with their heads


class Encoder(Protocol):
    """Turns texts into L2-normalised rows. ``model_key`` names the model and pooling (the cache key's first half);
    ``cacheable`` says whether a row depends on its text alone (True) or also on a fitted pool (False)."""

    model_key: str
    cacheable: bool

    def encode(self, texts: Sequence[str]) -> Vectors: ...


class EmbeddingCache(Protocol):
    """Stored vectors (float32, 1-D) by model key and text key (sha1 hex of the normalised text, see ``text_key``)."""

    def get_many(self, model_key: str, keys: list[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None: ...


# --- text keys and caches -------------------------------------------------------------------------------------------


def normalize_for_embedding(text: str) -> str:
    """The form that is embedded and hashed: NFKC and single spaces. Case is kept, for cased models."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


def text_key(text: str) -> str:
    """The cache key of a text: sha1 hex (40 characters) of its normalised form."""
    return _sha1(normalize_for_embedding(text))


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


class MemoryEmbeddingCache:
    """A dict in memory: for tests, and for one process that filters several times."""

    def __init__(self) -> None:
        self._store: dict[str, dict[str, np.ndarray]] = defaultdict(dict)

    def get_many(self, model_key: str, keys: list[str]) -> dict[str, np.ndarray]:
        store = self._store[model_key]
        return {key: store[key] for key in keys if key in store}

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        self._store[model_key].update(items)


class NpzEmbeddingCache:
    """A folder of ``.npz`` shards for standalone runs: one sub-folder per model key, one shard per ``put_many``.

    A shard is written to a temporary name and renamed, so a crash never leaves half a shard; a model key's shards
    are read once, on its first use, and kept in memory.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._loaded: dict[str, dict[str, np.ndarray]] = {}

    def _model_folder(self, model_key: str) -> Path:
        return self.folder / _sha1(model_key)[:16]

    def _vectors(self, model_key: str) -> dict[str, np.ndarray]:
        if model_key not in self._loaded:
            vectors: dict[str, np.ndarray] = {}
            for shard in sorted(self._model_folder(model_key).glob("*.npz")):
                with np.load(shard, allow_pickle=False) as data:
                    vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))
            self._loaded[model_key] = vectors
        return self._loaded[model_key]

    def get_many(self, model_key: str, keys: list[str]) -> dict[str, np.ndarray]:
        vectors = self._vectors(model_key)
        return {key: vectors[key] for key in keys if key in vectors}

    def put_many(self, model_key: str, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        folder = self._model_folder(model_key)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model_key.txt").write_text(model_key + "\n")
        keys = list(items)
        matrix = np.stack([np.asarray(items[key], dtype=np.float32) for key in keys])
        handle, tmp_name = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, keys=np.asarray(keys), vectors=matrix)
        os.replace(tmp_name, folder / f"shard-{uuid.uuid4().hex}.npz")
        self._vectors(model_key).update(zip(keys, matrix, strict=True))


def embed_with_cache(encoder: Encoder, texts: Sequence[str], cache: EmbeddingCache | None = None) -> Vectors:
    """Rows for ``texts`` in input order. Equal texts (after normalisation) are embedded once; with a cache and a
    cacheable encoder, only the texts the cache lacks are embedded, and those are stored."""
    normalized = [normalize_for_embedding(text) for text in texts]
    unique: dict[str, int] = {}
    inverse = np.fromiter((unique.setdefault(text, len(unique)) for text in normalized), np.int64, len(normalized))
    unique_texts = list(unique)
    if cache is None or not encoder.cacheable or not unique_texts:
        return encoder.encode(unique_texts)[inverse]
    keys = [_sha1(text) for text in unique_texts]
    found = cache.get_many(encoder.model_key, keys)
    missing = [row for row, key in enumerate(keys) if key not in found]
    fresh = np.asarray(encoder.encode([unique_texts[row] for row in missing]), dtype=np.float32) if missing else None
    dim = fresh.shape[1] if fresh is not None else len(next(iter(found.values())))
    rows = np.empty((len(unique_texts), dim), dtype=np.float32)
    for row, key in enumerate(keys):
        if key in found:
            rows[row] = found[key]
    if fresh is not None:
        rows[missing] = fresh
        cache.put_many(encoder.model_key, {keys[row]: rows[row].copy() for row in missing})
    return rows[inverse]


# --- encoders -------------------------------------------------------------------------------------------------------


def row_cosines(a: Vectors, b: Vectors, b_rows: np.ndarray | None = None) -> np.ndarray:
    """``cos(a[i], b[b_rows[i]])`` (or ``b[i]``) for each row of ``a``, a chunk at a time; dense or sparse rows."""
    count = a.shape[0]
    out = np.empty(count, dtype=np.float32)
    for start in range(0, count, _ROW_CHUNK):
        stop = min(count, start + _ROW_CHUNK)
        left, right = a[start:stop], b[b_rows[start:stop]] if b_rows is not None else b[start:stop]
        if not isinstance(right, np.ndarray):
            out[start:stop] = np.asarray(right.multiply(left).sum(axis=1)).ravel()
        elif not isinstance(left, np.ndarray):
            out[start:stop] = np.asarray(left.multiply(right).sum(axis=1)).ravel()
        else:
            out[start:stop] = np.einsum("ij,ij->i", left, right)
    return out
