"""Reads of the graph explorer: finding a node, a node's neighbourhood one capped page at a time, and an edge's
provenance.

Never the whole graph. A neighbourhood is the best ``limit`` edges of each direction, read in (rank, id) order from
the ``edge_*_rank`` indexes (rank: the score, unscored edges last), with a keyset cursor for the next page, so a
deep page costs what the first one does. What is left out is counted up to ``COUNT_CAP`` edges: a hub concept with
100,000 in-edges costs a bounded index scan, and says "more than 10,000" instead of an exact figure.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from django.db.models import Q, QuerySet

from annotation.selectors import candidate_context
from curation.models import EDGE_RANK, AcceptedEdge, GraphNode
from knowledge.ingest.parsing import normalize_text
from knowledge.selectors import candidates_with_behaviour, category_list, relation_list

SEARCH_LIMIT_MAX = 50
SEARCH_SCAN = 200  # prefix and substring matches ranked per search: a common word costs what a rare one does
NEIGHBOURHOOD_LIMIT_MAX = 200
COUNT_CAP = 10_000
DIRECTIONS = {"out": "head", "in": "tail"}


class InvalidCursor(ValueError):
    """A cursor that this module did not write (or of another node's filters)."""


def graph_node_search(*, text: str, kind: str | None = None, limit: int = 20) -> list[GraphNode]:
    """Nodes whose label contains ``text`` (case-insensitive), best first: the node whose key is the text (a
    query's or concept's normalised text, a product's catalogue id), then labels that start with it, labels with
    a word that starts with it, any other; shorter labels first within each, then by id.

    At most ``SEARCH_SCAN`` prefix and as many substring matches are ranked; on PostgreSQL the trigram index
    ``node_label_trgm`` finds them (texts under three characters have no trigram and scan); SQLite scans."""
    needle = text.strip()
    if not needle:
        return []
    nodes = graph_nodes_of_kind(kind)
    keys = {needle, normalize_text(needle)}
    found: dict[int, GraphNode] = {}
    exact = nodes.filter(kind__in=[kind] if kind else GraphNode.Kind.values, key__in=keys)
    for query in (exact, nodes.filter(label__istartswith=needle)[:SEARCH_SCAN]):
        found.update((node.pk, node) for node in query)
    if len(found) < SEARCH_SCAN:
        found.update((node.pk, node) for node in nodes.filter(label__icontains=needle)[:SEARCH_SCAN])
    folded = needle.casefold()

    def rank(node: GraphNode) -> tuple[int, int, int]:
        label = node.label.casefold()
        if node.key in keys:
            group = 0
        elif label.startswith(folded):
            group = 1
        elif f" {folded}" in label:
            group = 2
        else:
            group = 3
        return group, len(node.label), node.pk

    return sorted(found.values(), key=rank)[: max(1, min(limit, SEARCH_LIMIT_MAX))]


def graph_nodes_of_kind(kind: str | None = None) -> QuerySet[GraphNode]:
    nodes = GraphNode.objects.all()
    return nodes.filter(kind=kind) if kind else nodes


@dataclass(frozen=True)
class NeighbourhoodFilters:
    """What a neighbourhood is restricted to: a relation (slug) and a category (name); ``None``: any."""

    relation: str | None = None
    category: str | None = None


def _filter_ids(filters: NeighbourhoodFilters) -> tuple[int | None, int | None] | None:
    """The relation and category ids of the filters; ``None`` when one names nothing (the neighbourhood is empty).
    Resolved first, so that the planner sees constants and uses the (tail, relation|category, rank) indexes."""
    relation_id = category_id = None
    if filters.relation:
        relation_id = relation_list().filter(slug=filters.relation).values_list("pk", flat=True).first()
        if relation_id is None:
            return None
    if filters.category:
        category_id = category_list().filter(name=filters.category).values_list("pk", flat=True).first()
        if category_id is None:
            return None
    return relation_id, category_id


def cursor_encode(positions: dict[str, tuple[float, int] | None]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(positions)).decode().rstrip("=")


def cursor_decode(cursor: str) -> dict[str, tuple[float, int] | None]:
    """The position after which each direction goes on (``None``: that direction is done)."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("Not a cursor of this API.") from exc
    if not isinstance(data, dict) or not set(data) <= set(DIRECTIONS):
        raise InvalidCursor("Not a cursor of this API.")
    positions: dict[str, tuple[float, int] | None] = {}
    for direction, value in data.items():
        if value is None:
            positions[direction] = None
            continue
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not isinstance(value[0], int | float)
            or not isinstance(value[1], int)
        ):
            raise InvalidCursor("Not a cursor of this API.")
        positions[direction] = (float(value[0]), int(value[1]))
    return positions


def _edge_data(edge: AcceptedEdge) -> dict[str, Any]:
    return {
        "id": edge.pk,
        "source": edge.head_id,
        "target": edge.tail_id,
        "relation": edge.relation.slug,
        "category": edge.category.name if edge.category else None,
        "score": edge.score,
        "batch": edge.batch_id,
        "accepted_at": edge.accepted_at,
    }


def _node_data(node: GraphNode) -> dict[str, Any]:
    return {"id": node.pk, "kind": node.kind, "key": node.key, "label": node.label}


def graph_neighbourhood(
    *,
    node: GraphNode,
    filters: NeighbourhoodFilters | None = None,
    limit: int = 50,
    direction: str = "both",
    cursor: str | None = None,
) -> dict[str, Any]:
    """The node, its best ``limit`` out-edges and in-edges (by score, then newest id) with their other ends, and
    per direction how many match the filters (exact up to ``COUNT_CAP``) and whether more follow. ``next_cursor``
    reads the next page of every direction that has more (raises ``InvalidCursor`` for a foreign cursor)."""
    filters = filters or NeighbourhoodFilters()
    limit = max(1, min(limit, NEIGHBOURHOOD_LIMIT_MAX))
    wanted = list(DIRECTIONS) if direction == "both" else [direction]
    positions: dict[str, tuple[float, int] | None] = cursor_decode(cursor) if cursor else dict.fromkeys(wanted, None)
    started = not cursor
    ids = _filter_ids(filters)
    nodes: dict[int, dict[str, Any]] = {node.pk: _node_data(node)}
    edges: list[dict[str, Any]] = []
    sides: dict[str, dict[str, Any]] = {}
    following: dict[str, tuple[float, int] | None] = {}
    for side, field in DIRECTIONS.items():
        if side not in wanted or ids is None or (not started and positions.get(side) is None):
            sides[side] = {"shown": 0, "total": 0, "total_exact": True, "more": False}
            continue
        relation_id, category_id = ids
        matching = AcceptedEdge.objects.filter(**{field: node})
        if relation_id is not None:
            matching = matching.filter(relation_id=relation_id)
        if category_id is not None:
            matching = matching.filter(category_id=category_id)
        counted = matching.values("pk")[: COUNT_CAP + 1].count()
        page_of = matching.alias(rank=EDGE_RANK)
        after = positions.get(side)
        if after is not None:
            page_of = page_of.filter(Q(rank__lt=after[0]) | Q(rank=after[0], pk__lt=after[1]))
        # The page's ids first, from one table: its generic plan (prepared statements) still reads the rank index
        # in order, where a plan with the joins, estimating a handful of rows, would sort every edge of a hub.
        ranked = list(
            page_of.annotate(position=EDGE_RANK).order_by("-rank", "-pk").values_list("pk", "position")[: limit + 1]
        )
        more = len(ranked) > limit
        ranked = ranked[:limit]
        loaded = (
            AcceptedEdge.objects.select_related("head", "tail", "relation", "category").in_bulk(
                [pk for pk, _ in ranked]
            )
            if ranked
            else {}
        )
        page = [loaded[pk] for pk, _ in ranked if pk in loaded]
        for edge in page:
            other = edge.tail if side == "out" else edge.head
            nodes.setdefault(other.pk, _node_data(other))
            edges.append(_edge_data(edge))
        if more:
            following[side] = (ranked[-1][1], ranked[-1][0])
        sides[side] = {
            "shown": len(page),
            "total": min(counted, COUNT_CAP),
            "total_exact": counted <= COUNT_CAP,
            "more": more,
        }
    return {
        "node": _node_data(node),
        "nodes": list(nodes.values()),
        "edges": edges,
        "out": sides["out"],
        "in": sides["in"],
        "next_cursor": cursor_encode({side: following.get(side) for side in wanted}) if following else None,
    }


def graph_edges() -> QuerySet[AcceptedEdge]:
    return AcceptedEdge.objects.select_related("head", "tail", "product", "relation", "category", "batch", "curator")


def graph_edge_provenance(edge: AcceptedEdge) -> dict[str, Any]:
    """An accepted edge with where it came from: the candidate's behaviour (search query and product, or two
    products, or the plain head), relation and tail, the score, the review batch and its audit result as approved,
    the classifier versions, the curator and when. LLM text comes back as data; pages escape it."""
    (candidate,) = candidates_with_behaviour([edge.candidate_id]) or [None]
    batch = edge.batch
    return {
        "id": edge.pk,
        "head": _node_data(edge.head),
        "relation": edge.relation.slug,
        "relation_label": edge.relation.label,
        "tail": _node_data(edge.tail),
        "product": _node_data(edge.product) if edge.product else None,
        "category": edge.category.name if edge.category else None,
        "score": edge.score,
        "candidate": candidate_context(candidate) if candidate is not None else None,
        "batch": (
            {
                "id": batch.pk,
                "status": batch.status,
                "score_low": batch.score_low,
                "score_high": batch.score_high,
                "size": batch.size,
                "decided_at": batch.decided_at,
                "override_reason": batch.override_reason,
            }
            if batch is not None
            else None
        ),
        "audit": edge.audit,
        "versions": edge.versions,
        "curator": edge.curator.get_username() if edge.curator else None,
        "accepted_at": edge.accepted_at,
    }
