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

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from filtering.encoders import TfidfEncoder, TransformerEncoder, default_encoder_path, make_encoder  # noqa: F401
from filtering.types import CandidateText, Verdict
from filtering.vectors import (  # noqa: F401  (re-exported: the filter's public names, as before the split)
    EmbeddingCache,
    Encoder,
    MemoryEmbeddingCache,
    NpzEmbeddingCache,
    Vectors,
    embed_with_cache,
    normalize_for_embedding,
    row_cosines,
    text_key,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


_GRAM_BUDGET = 4_000_000  # similarity-matrix cells computed at once while grouping one large (head, relation)
_PAIR_GROUP_MAX = 64  # groups up to this size compare their pairs in one vectorised pass over all such groups
_PAIR_BUDGET = 2_000_000  # pairs compared at once


def _gram(rows: Vectors, columns: Vectors) -> np.ndarray:
    product = rows @ columns.T
    return np.asarray(product if isinstance(product, np.ndarray) else product.toarray(), dtype=np.float32)


def _compact_columns(rows: Vectors) -> Vectors:
    """Sparse rows with their columns renumbered to the ones they use: a product of two 2^21-column CSR matrices
    converts one of them to CSC, which costs the column count (1.4 ms for TF-IDF rows) however few rows there are."""
    if isinstance(rows, np.ndarray):
        return rows
    from scipy.sparse import csr_matrix

    rows = rows.tocsr()
    used, inverse = np.unique(rows.indices, return_inverse=True)
    return csr_matrix((rows.data, inverse.astype(rows.indices.dtype), rows.indptr), shape=(rows.shape[0], len(used)))


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
    rows = _compact_columns(rows)
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


def _close_pairs(
    vectors: Vectors, order: np.ndarray, starts: np.ndarray, size: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (earlier, later) of positions inside the groups of ``size`` positions that begin at ``starts``
    whose rows (``vectors[order[position]]``) have cosine >= threshold, with that cosine; a budget of pairs at a
    time, one vectorised row-wise cosine per slice."""
    earlier, later = np.triu_indices(size, 1)
    per_slice = max(1, _PAIR_BUDGET // len(earlier))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for first in range(0, len(starts), per_slice):
        block = starts[first : first + per_slice, None]
        left, right = (block + earlier[None, :]).ravel(), (block + later[None, :]).ravel()
        cosines = row_cosines(vectors[order[left]], vectors, order[right])
        close = cosines >= threshold
        found.append((left[close], right[close], cosines[close]))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def near_duplicate_groups(
    candidates: Sequence[CandidateText], tail_vectors: Vectors, *, threshold: float
) -> list[DuplicateGroup]:
    """Groups of at least two candidates of one (head_key, relation) whose tails have cosine >= ``threshold``.

    Greedy and deterministic: candidates in order of support (descending) then id; each joins the first
    representative it is similar to, or becomes one. Different heads or relations never merge.

    Set-based: candidates are sorted once by (head and relation in order of first appearance, support descending,
    id); the pairs of every small group are compared in one row-wise cosine over all groups, larger groups by
    blocks of their similarity matrix. Python then walks only the pairs that are close enough.
    """
    count = len(candidates)
    if tail_vectors.shape[0] != count:
        raise ValueError("tail_vectors must have one row per candidate")
    if count < 2:
        return []
    key_index: dict[tuple[str, str], int] = {}
    group_of = np.fromiter(
        (key_index.setdefault((c.head_key, c.relation), len(key_index)) for c in candidates), np.int64, count
    )
    support = np.fromiter((c.support for c in candidates), np.int64, count)
    ids = np.fromiter((c.id for c in candidates), np.int64, count)
    order = np.lexsort((ids, -support, group_of))  # position -> candidate row
    sorted_groups = group_of[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, count])

    representative = np.arange(count)  # by position
    cosine = np.ones(count, dtype=np.float32)
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= _PAIR_GROUP_MAX)]).tolist():
        pairs.append(_close_pairs(tail_vectors, order, starts[sizes == size], size, threshold))
    if pairs:
        left, right, close_cosines = (np.concatenate(parts) for parts in zip(*pairs, strict=True))
        is_representative = np.ones(count, dtype=bool)
        for position in np.lexsort((left, right)).tolist():  # later position first, then the earliest neighbour
            member, earlier = int(right[position]), int(left[position])
            if representative[member] == member and is_representative[member] and is_representative[earlier]:
                representative[member], cosine[member] = earlier, close_cosines[position]
                is_representative[member] = False
    for start, size in zip(
        starts[sizes > _PAIR_GROUP_MAX].tolist(), sizes[sizes > _PAIR_GROUP_MAX].tolist(), strict=True
    ):
        local_representative, local_cosine = _greedy_representatives(
            tail_vectors[order[start : start + size]], threshold
        )
        representative[start : start + size] = local_representative + start
        cosine[start : start + size] = local_cosine

    keys = list(key_index)
    members: dict[int, list[int]] = defaultdict(list)
    for position in np.flatnonzero(representative != np.arange(count)).tolist():
        members[int(representative[position])].append(position)
    groups: list[DuplicateGroup] = []
    for rep_position, others in members.items():
        group_candidates = [candidates[row] for row in order[[rep_position, *others]].tolist()]
        head_key, relation = keys[int(sorted_groups[rep_position])]
        groups.append(
            DuplicateGroup(
                representative_id=group_candidates[0].id,
                member_ids=tuple(candidate.id for candidate in group_candidates),
                total_support=sum(candidate.support for candidate in group_candidates),
                similarities=(1.0, *(float(cosine[position]) for position in others)),
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


def _head_texts(candidate: CandidateText, *, lexical: bool) -> list[str]:
    """What a tail is compared with: the whole head context for a sentence encoder; for a lexical encoder (TF-IDF)
    each part of it on its own (the query, each product title, the plain head), so that a tail that repeats the
    query is not diluted by the words of the title it was joined with."""
    if not lexical:
        return [candidate.head_context]
    parts = [part for part in (candidate.query, *candidate.titles, candidate.head_text) if part]
    return parts or [candidate.head_context]


def similarity_filter(
    candidates: Sequence[CandidateText],
    encoder: Encoder,
    *,
    max_head_similarity: float,
    duplicate_similarity: float,
    cache: EmbeddingCache | None = None,
    tfidf_max_head_similarity: float | None = None,
) -> SimilarityResult:
    """Embeds every tail and each head text once (in one pass, through the cache), then runs both checks.

    An unfitted ``TfidfEncoder`` is fitted here on the tails and head texts: the pool is the corpus. With TF-IDF a
    tail's head similarity is its largest cosine to any part of its head (``_head_texts``) and the threshold is
    ``tfidf_max_head_similarity`` (``max_head_similarity`` when None): lexical cosines sit on another scale than a
    sentence model's (docs/filtering.md, "The TF-IDF fallback").
    """
    started = time.perf_counter()
    lexical = isinstance(encoder, TfidfEncoder)
    threshold = tfidf_max_head_similarity if lexical and tfidf_max_head_similarity is not None else max_head_similarity
    text_row: dict[str, int] = {}
    head_texts: list[str] = []
    pair_candidates: list[int] = []  # (candidate row, head text row) pairs to compare
    pair_heads: list[int] = []
    rows_of_head: dict[str, list[int]] = {}
    for row, candidate in enumerate(candidates):
        head_text_rows = rows_of_head.get(candidate.head_key)
        if head_text_rows is None:
            head_text_rows = rows_of_head[candidate.head_key] = []
            for text in _head_texts(candidate, lexical=lexical):
                if text not in text_row:
                    text_row[text] = len(head_texts)
                    head_texts.append(text)
                head_text_rows.append(text_row[text])
        pair_candidates.extend([row] * len(head_text_rows))
        pair_heads.extend(head_text_rows)
    texts = [candidate.tail for candidate in candidates] + head_texts
    if isinstance(encoder, TfidfEncoder) and not encoder.is_fitted:
        vectors = encoder.fit_encode(texts)  # the pool is the corpus: each text hashed once for both
    else:
        vectors = embed_with_cache(encoder, texts, cache)
    tail_vectors, head_vectors = vectors[: len(candidates)], vectors[len(candidates) :]
    embedded = time.perf_counter()
    pair_rows, pair_head_rows = np.asarray(pair_candidates, dtype=np.int64), np.asarray(pair_heads, dtype=np.int64)
    if len(pair_rows) == len(candidates):  # one head text per candidate (a sentence encoder): no copy of the tails
        head_similarities = row_cosines(tail_vectors, head_vectors, pair_head_rows)
    else:
        pair_cosines = row_cosines(tail_vectors[pair_rows], head_vectors, pair_head_rows)
        head_similarities = np.full(len(candidates), -1.0, dtype=np.float32)
        np.maximum.at(head_similarities, pair_rows, pair_cosines)
    head_verdicts = _head_verdicts(candidates, head_similarities, threshold)
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
