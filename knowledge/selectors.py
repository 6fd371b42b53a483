"""Reads of the knowledge domain, shaped for the API, the admin pages and the templates."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from core.cache import cache_get, cache_set
from knowledge.models import BehaviourPair, Candidate, Category, IngestRun, Product, Relation, SearchQuery

#: A candidate with its relation and the behaviour behind it (the search query, the product bought, the other
#: product of a co-purchase, each product's category), for raw reads that render candidates in bulk: annotation
#: steps, the filters' texts, the classifiers' texts and the instruction export. Aliases: c, r, bp, sq, p1, k1,
#: p2, k2 (PostgreSQL drops the left joins a select list does not use). The one place this join is written:
#: ``CANDIDATE_BEHAVIOUR_JOINS`` follows any row source aliased ``c`` (a subquery, or a join from another table).
CANDIDATE_RELATION_JOIN = "JOIN knowledge_relation r ON r.id = c.relation_id "
CANDIDATE_BEHAVIOUR_JOINS = (
    "LEFT JOIN knowledge_behaviourpair bp ON bp.id = c.pair_id "
    "LEFT JOIN knowledge_searchquery sq ON sq.id = bp.query_id "
    "LEFT JOIN knowledge_product p1 ON p1.id = bp.product_id "
    "LEFT JOIN knowledge_category k1 ON k1.id = p1.category_id "
    "LEFT JOIN knowledge_product p2 ON p2.id = bp.other_product_id "
    "LEFT JOIN knowledge_category k2 ON k2.id = p2.category_id "
)
CANDIDATE_BEHAVIOUR_FROM = "FROM knowledge_candidate c " + CANDIDATE_RELATION_JOIN + CANDIDATE_BEHAVIOUR_JOINS
# A candidate's statement template: its relation's for its kind of head, else the relation's own (after
# CANDIDATE_RELATION_JOIN; at most one row by the unique (relation, behaviour_kind)).
CANDIDATE_SENTENCE_JOIN = (
    "LEFT JOIN knowledge_relationsentence rs ON rs.relation_id = c.relation_id AND rs.behaviour_kind = c.head_kind "
)
CANDIDATE_STATEMENT_TEMPLATE = "COALESCE(rs.template, r.sentence_template)"


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


def relation_ids(*, slugs: list[str] | None = None, active_only: bool = False) -> dict[str, int]:
    """``{slug: id}`` of the relations (those named, or all; only the active ones on request)."""
    relations = Relation.objects.all()
    if slugs is not None:
        relations = relations.filter(slug__in=slugs)
    if active_only:
        relations = relations.filter(is_active=True)
    return dict(relations.values_list("slug", "id"))


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name")


def candidate_known_labels(*, candidate_id: int) -> Any:
    """The known answers loaded with a candidate (gold and evaluation), as stored (None: no such candidate)."""
    return Candidate.objects.filter(pk=candidate_id).values_list("known_labels", flat=True).first()


def candidate_status(*, candidate_id: int) -> str | None:
    return Candidate.objects.filter(pk=candidate_id).values_list("status", flat=True).first()


def candidate_ids_by_dedup_key(keys: list[str]) -> dict[str, int]:
    """``{dedup key: candidate id}`` for the keys that exist."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), 10_000):
        found.update(
            Candidate.objects.filter(dedup_key__in=keys[start : start + 10_000]).values_list("dedup_key", "pk")
        )
    return found


def candidate_count(*, candidate_ids: list[int] | None = None, status: str | None = None) -> int:
    candidates = Candidate.objects.all()
    if candidate_ids is not None:
        candidates = candidates.filter(pk__in=candidate_ids)
    if status is not None:
        candidates = candidates.filter(status=status)
    return candidates.count()


def candidate_for_update(*, candidate_id: int) -> Candidate | None:
    """A candidate locked until the caller's transaction ends (a curator's decision serialises on it)."""
    return Candidate.objects.select_for_update().filter(pk=candidate_id).first()


def candidate_graph_rows(candidate_ids: list[int]) -> list[tuple[Any, ...]]:
    """What accepting candidates into the graph needs, per candidate: (id, head kind, head text, relation id,
    tail, normalised tail, query key, query text, product id, product title, product category id)."""
    return list(
        Candidate.objects.filter(pk__in=candidate_ids).values_list(
            "pk",
            "head_kind",
            "head_text",
            "relation_id",
            "tail",
            "tail_normalized",
            "pair__query__normalized_text",
            "pair__query__text",
            "pair__product__external_id",
            "pair__product__title",
            "pair__product__category_id",
        )
    )


def candidates_with_behaviour(candidate_ids: list[int]) -> QuerySet[Candidate]:
    """Candidates with their relation and behaviour (query, products, categories) loaded, and the relations'
    statement templates (``relation_statement_template``)."""
    return (
        Candidate.objects.filter(pk__in=candidate_ids)
        .select_related("relation", "pair__query", "pair__product__category", "pair__other_product__category")
        .prefetch_related("relation__sentences")
    )


def relation_statement_template(relation: Relation, head_kind: str) -> str:
    """The relation's statement template for a kind of head, else its ``sentence_template`` (reads
    ``relation.sentences``, prefetched by ``candidates_with_behaviour``)."""
    for sentence in relation.sentences.all():
        if sentence.behaviour_kind == head_kind:
            return str(sentence.template)
    return str(relation.sentence_template)


def behaviour_pair_ids(
    *,
    kinds: list[str] | None = None,
    categories: list[str] | None = None,
    min_specificity: float | None = None,
    max_specificity: float | None = None,
    count: int,
) -> list[int]:
    """The most observed behaviour pairs of some kinds, optionally of some categories (of the bought product) and
    within a query specificity range."""
    from django.db.models import Q

    pairs = BehaviourPair.objects.filter(kind__in=kinds or ["search_buy", "co_buy"])
    if categories:
        pairs = pairs.filter(product__category__name__in=categories)
    if min_specificity is not None:
        pairs = pairs.filter(query__specificity__gte=min_specificity)
    if max_specificity is not None:
        pairs = pairs.filter(Q(query__specificity__lte=max_specificity) | Q(query__isnull=True))
    return list(pairs.order_by("-observation_count", "id").values_list("pk", flat=True)[:count])


def behaviour_pairs(pair_ids: list[int]) -> QuerySet[BehaviourPair]:
    """Behaviour pairs with their query, products and categories loaded."""
    return BehaviourPair.objects.filter(pk__in=pair_ids).select_related(
        "query", "product__category", "other_product__category"
    )


# --- for the serving feature store and cache (serving/) ----------------------------------------------------------


def products_described(*, external_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{catalogue id: (title, category name)} of the products that exist among ``external_ids``."""
    return {
        external_id: (title, category or "")
        for external_id, title, category in Product.objects.filter(external_id__in=external_ids).values_list(
            "external_id", "title", "category__name"
        )
    }


def serving_key_parts(
    *, query_ids: set[int], product_ids: set[int], pair_ids: set[int]
) -> tuple[list[str], list[str], list[tuple[str, str, str, str]]]:
    """(normalised query texts, product catalogue ids, (kind, normalised query, product id, other product id) of
    the pairs) for these rows: what the serving keys of an approval's behaviour are made of."""
    queries = list(SearchQuery.objects.filter(id__in=query_ids).values_list("normalized_text", flat=True))
    products = list(Product.objects.filter(id__in=product_ids).values_list("external_id", flat=True))
    pairs = list(
        BehaviourPair.objects.filter(id__in=pair_ids).values_list(
            "kind", "query__normalized_text", "product__external_id", "other_product__external_id"
        )
    )
    return queries, products, pairs


def co_buy_pair_ids(*, members: set[tuple[int, int]]) -> set[int]:
    """Ids of the co-buy pairs whose (product, other product) is one of ``members``."""
    found: set[int] = set()
    rows = BehaviourPair.objects.filter(kind="co_buy", product_id__in={a for a, _ in members}).values_list(
        "id", "product_id", "other_product_id"
    )
    for pair_id, product_id, other_id in rows:
        if (product_id, other_id) in members:
            found.add(pair_id)
    return found


def candidate_known_label_counts(*, question: str, status: str) -> tuple[int, int]:
    """(candidates in ``status`` whose known labels answer ``question``, of them answered Yes): one aggregate, for
    measuring a stage on labelled data (the filters' report)."""
    counts = Candidate.objects.filter(status=status, known_labels__has_key=question).aggregate(
        labelled=Count("id"), yes=Count("id", filter=Q(**{f"known_labels__{question}": True}))
    )
    return int(counts["labelled"]), int(counts["yes"])
