"""Reads for curation: batches with their estimates and audit items, the graph's counts and a node's edges."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count

from annotation.selectors import candidate_context
from curation.maths import histogram, wilson_interval
from curation.models import AcceptedEdge, BatchMember, CurationEvent, ExportRun, GraphNode, ReviewBatch
from curation.services import batch_estimate
from knowledge.selectors import candidates_with_behaviour, category_list, relation_list


def batch_list(*, status: str | None = None) -> Any:
    batches = ReviewBatch.objects.select_related("relation", "category")
    return batches.filter(status=status) if status else batches


def _contexts(candidate_ids: list[int]) -> dict[int, dict[str, Any]]:
    candidates = candidates_with_behaviour(candidate_ids)
    return {candidate.pk: candidate_context(candidate) for candidate in candidates}


def batch_detail(batch: ReviewBatch, *, examples: int = 5) -> dict[str, Any]:
    """The batch, its estimate, a score histogram, the audit sample with each candidate's context and answer,
    and the best- and worst-scored examples. LLM text comes back as data; pages escape it."""
    members = list(BatchMember.objects.filter(batch=batch).order_by("-score", "candidate_id"))
    audit = [m for m in members if m.in_audit]
    shown = [m.candidate_id for m in audit] + [m.candidate_id for m in members[:examples] + members[-examples:]]
    contexts = _contexts(shown)
    return {
        "batch": batch,
        "estimate": batch_estimate(batch),
        "histogram": histogram([m.score for m in members], bins=10),
        "audit": [
            {"candidate": contexts[m.candidate_id], "score": m.score, "value": m.audit_value}
            for m in audit
            if m.candidate_id in contexts
        ],
        "best": [
            contexts[m.candidate_id] | {"score": m.score} for m in members[:examples] if m.candidate_id in contexts
        ],
        "worst": [
            contexts[m.candidate_id] | {"score": m.score} for m in members[-examples:] if m.candidate_id in contexts
        ],
    }


def graph_summary() -> dict[str, Any]:
    """Counts of nodes by kind and of edges by relation and by category."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.slug, count(*) FROM curation_acceptededge e JOIN knowledge_relation r ON r.id = e.relation_id "
            "GROUP BY r.slug ORDER BY count(*) DESC"
        )
        by_relation = dict(cursor.fetchall())
        cursor.execute(
            "SELECT COALESCE(k.name, '(none)'), count(*) FROM curation_acceptededge e "
            "LEFT JOIN knowledge_category k ON k.id = e.category_id GROUP BY k.name ORDER BY count(*) DESC"
        )
        by_category = dict(cursor.fetchall())
        cursor.execute("SELECT count(DISTINCT category_id) FROM curation_acceptededge WHERE category_id IS NOT NULL")
        categories = int(cursor.fetchone()[0])
    nodes = dict(GraphNode.objects.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    nodes["category"] = nodes.get("category", 0) + categories
    return {
        "nodes": sum(nodes.values()),
        "nodes_by_kind": nodes,
        "edges": sum(by_relation.values()),
        "edges_by_relation": by_relation,
        "edges_by_category": by_category,
    }


def node_edges(node: GraphNode, *, limit: int = 200) -> dict[str, Any]:
    def edges(queryset: Any) -> list[dict[str, Any]]:
        return [
            {
                "head": {"id": e.head_id, "kind": e.head.kind, "label": e.head.label},
                "relation": e.relation.slug,
                "tail": {"id": e.tail_id, "kind": e.tail.kind, "label": e.tail.label},
                "category": e.category.name if e.category else None,
                "score": e.score,
                "batch": e.batch_id,
                "accepted_at": e.accepted_at,
            }
            for e in queryset.select_related("head", "tail", "relation", "category").order_by("-accepted_at")[:limit]
        ]

    return {
        "node": {"id": node.pk, "kind": node.kind, "key": node.key, "label": node.label},
        "out": edges(AcceptedEdge.objects.filter(head=node)),
        "in": edges(AcceptedEdge.objects.filter(tail=node)),
    }


def events(*, limit: int = 100) -> Any:
    return CurationEvent.objects.select_related("actor")[:limit]


def batches() -> Any:
    """Review batches with their relation and category (for detail lookups by id)."""
    return ReviewBatch.objects.select_related("relation", "category")


def graph_nodes() -> Any:
    return GraphNode.objects.all()


def graph_top_nodes(*, limit: int = 30) -> Any:
    """The nodes with the most outgoing accepted edges, most first."""
    return GraphNode.objects.annotate(degree=Count("out_edges")).filter(degree__gt=0).order_by("-degree", "id")[:limit]


def export_run_list() -> Any:
    """Export runs, newest first."""
    return ExportRun.objects.all()


def export_filter_choices() -> dict[str, Any]:
    """What an export can be filtered by: every relation and category, by name."""
    return {"relations": relation_list(), "categories": category_list()}


def batch_counts() -> dict[str, int]:
    """How many review batches are in each status."""
    return dict(ReviewBatch.objects.values("status").annotate(n=Count("id")).order_by().values_list("status", "n"))


def batch_estimates(*, limit: int = 20) -> list[dict[str, Any]]:
    """The latest batches, oldest first, with their audit precision and 95% Wilson interval (the dashboard)."""
    rows = []
    for batch in ReviewBatch.objects.select_related("relation").order_by("-created_at", "-id")[:limit]:
        audited = batch.audit_yes + batch.audit_no
        low, high = wilson_interval(batch.audit_yes, audited)
        rows.append(
            {
                "id": batch.pk,
                "label": f"#{batch.pk} {batch.relation.slug}",
                "status": batch.status,
                "precision": batch.audit_yes / audited if audited else None,
                "low": low,
                "high": high,
            }
        )
    return rows[::-1]
