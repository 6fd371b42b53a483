"""Reads of the knowledge domain, shaped for the API, the admin pages and the templates."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from core.cache import cache_get, cache_set
from knowledge.models import Candidate, IngestRun, Relation

#: A candidate with its relation and the behaviour behind it (the search query, the product bought, the other
#: product of a co-purchase, each product's category), for raw reads that render candidates in bulk: annotation
#: steps and the classifiers' texts. Aliases: c, r, bp, sq, p1, k1, p2, k2 (PostgreSQL drops the joins a select
#: list does not use).
CANDIDATE_BEHAVIOUR_FROM = (
    "FROM knowledge_candidate c JOIN knowledge_relation r ON r.id = c.relation_id "
    "LEFT JOIN knowledge_behaviourpair bp ON bp.id = c.pair_id "
    "LEFT JOIN knowledge_searchquery sq ON sq.id = bp.query_id "
    "LEFT JOIN knowledge_product p1 ON p1.id = bp.product_id "
    "LEFT JOIN knowledge_category k1 ON k1.id = p1.category_id "
    "LEFT JOIN knowledge_product p2 ON p2.id = bp.other_product_id "
    "LEFT JOIN knowledge_category k2 ON k2.id = p2.category_id "
)


def candidate_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Candidate]:
    """Candidates with their head and relation loaded, newest first, narrowed by the given filters.

    Filters: ``status``, ``relation`` (slug), ``head_kind``, ``category`` (name, of the bought product),
    ``ingest_run`` (id) and ``search`` (a substring of the tail).
    """
    filters = filters or {}
    queryset = Candidate.objects.select_related(
        "relation",
        "pair__query",
        "pair__product__category",
        "pair__other_product__category",
    ).order_by("-id")
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("relation"):
        queryset = queryset.filter(relation__slug=filters["relation"])
    if filters.get("head_kind"):
        queryset = queryset.filter(head_kind=filters["head_kind"])
    if filters.get("category"):
        queryset = queryset.filter(pair__product__category__name=filters["category"])
    if filters.get("ingest_run"):
        queryset = queryset.filter(ingest_run_id=filters["ingest_run"])
    if filters.get("search"):
        queryset = queryset.filter(tail__icontains=filters["search"])
    return queryset


def candidate_get(*, candidate_id: int) -> Candidate | None:
    return candidate_list().filter(pk=candidate_id).first()


STATUS_COUNTS_CACHE_SECONDS = 30


def candidate_status_counts() -> dict[str, int]:
    """How many candidates are in each lifecycle status (every status present, zero when empty).

    Counted over the whole pool, so web pages see it through a short cache rather than once per view.
    """
    cached = cache_get("knowledge:status-counts")
    if cached is not None:
        return dict(cached)
    counts = {status.value: 0 for status in Candidate.Status}
    for row in Candidate.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    cache_set("knowledge:status-counts", counts, STATUS_COUNTS_CACHE_SECONDS)
    return counts


def relation_list() -> QuerySet[Relation]:
    return Relation.objects.order_by("slug")


def ingest_run_list() -> QuerySet[IngestRun]:
    return IngestRun.objects.select_related("created_by").order_by("-created_at", "-id")


def ingest_run_get(*, run_id: int) -> IngestRun | None:
    return ingest_run_list().filter(pk=run_id).first()


def candidates_waiting_for_filters() -> bool:
    """Whether any candidate is still ``ingested`` (the filters have not seen it)."""
    return Candidate.objects.filter(status=Candidate.Status.INGESTED).exists()
