"""The similarity stage of a filter run: embeds what the rules kept, head by head, and records its drops.

Candidates are processed in chunks cut at head boundaries, so that near-duplicates (which only exist within
one head and relation) always meet in the same chunk. Embeddings of a neural encoder go through the database
cache, so a re-run with new thresholds does not re-embed. A TF-IDF encoder is fitted on each chunk's texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from filtering import selectors
from filtering.decisions import decision_rows, decisions_write
from filtering.embedding_cache import DatabaseEmbeddingCache
from filtering.similarity import TfidfEncoder, make_encoder, similarity_filter
from filtering.types import CandidateText, Verdict

CHUNK_CANDIDATES = 5_000
TFIDF_CHUNK_CANDIDATES = 50_000


def _head_chunks(kept: list[tuple[str, int]], size: int) -> Iterator[list[int]]:
    """Ids in head order, ``size`` at a time, never splitting one head across two chunks."""
    chunk: list[int] = []
    previous_head = None
    for head_key, candidate_id in sorted(kept):
        if len(chunk) >= size and head_key != previous_head:
            yield chunk
            chunk = []
        chunk.append(candidate_id)
        previous_head = head_key
    if chunk:
        yield chunk


def similarity_stage(
    *,
    run_id: int,
    config: dict[str, Any],
    kept: list[tuple[str, int]],
    advance: Callable[[int], None],
    read: dict[int, CandidateText] | None = None,
) -> tuple[dict[int, list[Verdict]], dict[int, tuple[int, int]]]:
    """Returns (dropped candidate -> verdicts, near-duplicate member -> (representative, member support)).

    ``read`` holds the kept candidates when the rules' pass kept them (small pools); otherwise each chunk is read
    again from the database by id."""
    settings = config["similarity"]
    encoder = make_encoder(settings)
    cacheable = getattr(encoder, "cacheable", True)
    cache = DatabaseEmbeddingCache() if cacheable else None
    size = TFIDF_CHUNK_CANDIDATES if isinstance(encoder, TfidfEncoder) else CHUNK_CANDIDATES
    dropped: dict[int, list[Verdict]] = {}
    duplicates: dict[int, tuple[int, int]] = {}
    for ids in _head_chunks(kept, size):
        chunk = [read[i] for i in ids] if read is not None else selectors.candidates_by_ids(ids)
        candidates = sorted(chunk, key=lambda c: (c.head_key, c.id))
        if isinstance(encoder, TfidfEncoder):
            encoder = make_encoder(settings)  # a fresh fit per chunk: the chunk's texts are its corpus
        result = similarity_filter(
            candidates,
            encoder,
            max_head_similarity=float(settings["max_head_similarity"]),
            tfidf_max_head_similarity=float(settings["tfidf_max_head_similarity"]),
            duplicate_similarity=float(settings["duplicate_similarity"]),
            cache=cache,
        )
        decisions: list[tuple[Any, ...]] = []
        support = {candidate.id: candidate.support for candidate in candidates}
        for candidate, head_verdict, duplicate_verdict in zip(
            candidates, result.head_verdicts, result.duplicate_verdicts, strict=True
        ):
            verdicts = [verdict for verdict in (head_verdict, duplicate_verdict) if verdict is not None]
            if not verdicts:
                continue
            dropped[candidate.id] = verdicts
            decisions.extend(decision_rows(run_id, candidate.id, verdicts))
            if duplicate_verdict is not None:
                representative = int(duplicate_verdict.extra["representative_id"])  # type: ignore[call-overload]
                duplicates[candidate.id] = (representative, support[candidate.id])
        decisions_write(decisions)
        advance(len(candidates))
    return dropped, duplicates
