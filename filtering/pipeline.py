"""The similarity stage of a filter run: embeds what the rules kept, head by head, and records its drops.

It is fed the candidates the rules kept while the rules' pass reads the pool (``filterable_candidates_by_head``:
one read, in (head, id) order), and works on chunks cut at head boundaries as soon as one is full, so that
near-duplicates (which only exist within one head and relation) always meet in the same chunk, nothing is read
twice and memory holds one chunk. Embeddings of a neural encoder go through the database cache, so a re-run with
new thresholds does not re-embed. A TF-IDF encoder is fitted on each chunk's texts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from filtering.decisions import decision_rows, decisions_write
from filtering.embedding_cache import DatabaseEmbeddingCache
from filtering.similarity import TfidfEncoder, make_encoder, similarity_filter
from filtering.types import CandidateText

CHUNK_CANDIDATES = 5_000
TFIDF_CHUNK_CANDIDATES = 50_000


class SimilarityStage:
    """Takes kept candidates in (head_key, id) order (``add``) and filters each chunk of at least ``size`` of
    them, ending at a head boundary, when the next head begins (and the last one at ``finish``).

    ``dropped`` maps each dropped candidate to the representative it is a near-duplicate of (None for a tail that
    paraphrases its head); ``duplicates`` maps each near-duplicate to (representative, its own support). The
    decisions are written as each chunk ends.
    """

    def __init__(self, *, run_id: int, config: dict[str, Any], advance: Callable[[int], None]) -> None:
        self.run_id = run_id
        self.settings = config["similarity"]
        self.encoder: Any = None  # made with the first kept candidate: a pool the rules empty loads no model
        self.cache: DatabaseEmbeddingCache | None = None
        self.size = CHUNK_CANDIDATES
        self.advance = advance
        self.dropped: dict[int, int | None] = {}
        self.duplicates: dict[int, tuple[int, int]] = {}
        self.seconds = 0.0  # spent filtering chunks (the rest of the pass reads the pool and runs the rules)
        self._chunk: list[CandidateText] = []
        self._head: str | None = None

    def add(self, candidate: CandidateText) -> None:
        if self.encoder is None:
            self.encoder = make_encoder(self.settings)
            self.cache = DatabaseEmbeddingCache() if getattr(self.encoder, "cacheable", True) else None
            self.size = TFIDF_CHUNK_CANDIDATES if isinstance(self.encoder, TfidfEncoder) else CHUNK_CANDIDATES
        if len(self._chunk) >= self.size and candidate.head_key != self._head:
            self._filter_chunk()
        self._chunk.append(candidate)
        self._head = candidate.head_key

    def finish(self) -> None:
        if self._chunk:
            self._filter_chunk()

    def _filter_chunk(self) -> None:
        started = time.monotonic()
        candidates, self._chunk = self._chunk, []
        if isinstance(self.encoder, TfidfEncoder):
            self.encoder = make_encoder(self.settings)  # a fresh fit per chunk: the chunk's texts are its corpus
        result = similarity_filter(
            candidates,
            self.encoder,
            max_head_similarity=float(self.settings["max_head_similarity"]),
            tfidf_max_head_similarity=float(self.settings["tfidf_max_head_similarity"]),
            duplicate_similarity=float(self.settings["duplicate_similarity"]),
            cache=self.cache,
        )
        decisions: list[tuple[Any, ...]] = []
        for candidate, head_verdict, duplicate_verdict in zip(
            candidates, result.head_verdicts, result.duplicate_verdicts, strict=True
        ):
            verdicts = [verdict for verdict in (head_verdict, duplicate_verdict) if verdict is not None]
            if not verdicts:
                continue
            decisions.extend(decision_rows(self.run_id, candidate.id, verdicts))
            representative: int | None = None
            if duplicate_verdict is not None:
                representative = int(duplicate_verdict.extra["representative_id"])  # type: ignore[call-overload]
                self.duplicates[candidate.id] = (representative, candidate.support)
            self.dropped[candidate.id] = representative
        decisions_write(decisions)
        self.advance(len(candidates))
        self.seconds += time.monotonic() - started
