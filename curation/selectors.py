"""Reads for curation: batches with their estimates and audit items, the graph's counts and a node's edges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Coalesce

from annotation.selectors import candidate_context
from core.cache import cache_get_or_compute
from curation.exports import count_edges, instruction_records
from curation.formation import batches_plan
from curation.maths import histogram
from curation.models import AcceptedEdge, BatchMember, CurationEvent, ExportRun, GraphNode, ReviewBatch
from curation.pool import unbatched_strata
from curation.services import batch_estimate
from knowledge.selectors import candidates_with_behaviour, category_list, relation_list


def batch_list(*, status: str | None = None) -> Any:
    """Batches, newest first, with their strata (``batch_estimate`` reads them)."""
    batches = ReviewBatch.objects.select_related("relation", "category").prefetch_related("strata")
    return batches.filter(status=status) if status else batches


def _contexts(candidate_ids: list[int]) -> dict[int, dict[str, Any]]:
    candidates = candidates_with_behaviour(candidate_ids)
    return {candidate.pk: candidate_context(candidate) for candidate in candidates}


def batch_detail(batch: ReviewBatch, *, examples: int = 5) -> dict[str, Any]:
    """The batch, its estimate with the per-stratum breakdown, a score histogram, the audit sample with each
    candidate's context, stratum and answer, and examples by score: the ``examples`` highest and lowest, disjoint;
    when the batch has no more than twice that many candidates, all of them in ``best`` and ``worst`` empty (one
    list, so the same candidates are never shown twice). LLM text comes back as data; pages escape it."""
    members = BatchMember.objects.filter(batch=batch)
    audit = list(members.filter(in_audit=True).order_by("stratum_id", "-score", "candidate_id"))
    scores = list(members.values_list("score", flat=True))
    ordered = members.order_by("-score", "candidate_id").values_list("candidate_id", "score")
    if len(scores) <= 2 * examples:
        best, worst = list(ordered), []
    else:
        best = list(ordered[:examples])
        worst = list(members.order_by("score", "-candidate_id").values_list("candidate_id", "score")[:examples])[::-1]
    contexts = _contexts([m.candidate_id for m in audit] + [cid for cid, _score in best + worst])
    estimate = batch_estimate(batch)
    labels = {row["id"]: row["label"] for row in estimate["strata"]}
    return {
        "batch": batch,
        "estimate": estimate,
        "strata": estimate["strata"],
        "histogram": histogram(scores, bins=10),
        "audit": [
            {
                "candidate": contexts[m.candidate_id],
                "score": m.score,
                "value": m.audit_value,
                "stratum": m.stratum_id,
                "stratum_label": labels.get(m.stratum_id, ""),
            }
            for m in audit
            if m.candidate_id in contexts
        ],
        "best": [contexts[cid] | {"score": score} for cid, score in best if cid in contexts],
        "worst": [contexts[cid] | {"score": score} for cid, score in worst if cid in contexts],
    }


def curation_queue(*, cached: bool = False) -> dict[str, Any]:
    """What stands between the curators and an empty queue: the scored candidates in no open batch, the open
    batches and the audit answers they still need, and the audit answers (and batches) the unbatched candidates
    will need when batched at the target size, planned by ``curation.formation.batches_plan`` on the pool's
    stratum counts (one ``GROUP BY`` in the database, 0.2 s at 100,000 scored candidates, 1.3 s at 1,000,000).

    ``cached``: the pool's part comes from the cache (``unbatched_plan_cached``); the open batches' part, a sum
    over a few hundred batches, is always read, so an audit answer shows at once."""
    pool = unbatched_plan_cached() if cached else unbatched_plan()
    open_batches = ReviewBatch.objects.filter(status=ReviewBatch.Status.AUDITING).aggregate(
        batches=Count("id"),
        candidates=Coalesce(Sum("size"), 0),
        left=Coalesce(Sum(F("audit_size") - F("audit_yes") - F("audit_no")), 0),
    )
    conf = settings.PLAUSI_CURATION
    return {
        "unbatched": pool["unbatched"],
        "open_batches": open_batches["batches"],
        "open_candidates": open_batches["candidates"],
        "audit_left_open": open_batches["left"],
        "batches_needed": pool["batches_needed"],
        "audit_needed_unbatched": pool["audit_needed"],
        "audit_left_total": open_batches["left"] + pool["audit_needed"],
        "target_size": min(int(conf["BATCH_TARGET_SIZE"]), int(conf["BATCH_MAX_SIZE"])),
        "half_width": float(conf["AUDIT_HALF_WIDTH"]),
    }


def unbatched_plan() -> dict[str, int]:
    """The unbatched pool's size, and the batches and audit answers it will need at the target size."""
    targets = list(settings.PLAUSI_CLASSIFIERS["TARGETS"])
    conf = settings.PLAUSI_CURATION
    sizes = unbatched_strata(targets=targets, bands=list(conf["SCORE_BANDS"]))
    plan = batches_plan(
        sizes,
        target_size=min(int(conf["BATCH_TARGET_SIZE"]), int(conf["BATCH_MAX_SIZE"])),
        max_size=int(conf["BATCH_MAX_SIZE"]),
        half_width=float(conf["AUDIT_HALF_WIDTH"]),
        min_stratum_size=int(conf["STRATUM_MIN_SIZE"]),
        min_audit=int(conf["STRATUM_MIN_AUDIT"]),
    )
    return {
        "unbatched": sum(sizes.values()),
        "batches_needed": len(plan),
        "audit_needed": sum(batch.audit_size for batch in plan),
    }


QUEUE_CACHE_SECONDS = 30


def unbatched_plan_cached() -> dict[str, int]:
    """``unbatched_plan`` cached per state of the batches (a batch formed or decided shows at once: both change
    the pool) and for at most 30 s (newly scored candidates): an audit answer does not change the pool, so the
    first visit of /curation/ after one does not pay the pool's ``GROUP BY``."""
    decided = ~Q(status=ReviewBatch.Status.AUDITING)
    state = ReviewBatch.objects.aggregate(newest=Max("id"), decided=Count("id", filter=decided))
    key = f"curation:unbatched-plan:{state['newest'] or 0}:{state['decided']}"
    return dict(cache_get_or_compute(key, unbatched_plan, QUEUE_CACHE_SECONDS))


def curation_queue_cached() -> dict[str, Any]:
    """``curation_queue`` with the pool's part cached (see ``unbatched_plan_cached``)."""
    return curation_queue(cached=True)


GRAPH_SUMMARY_CACHE_SECONDS = 300


def graph_summary_cached() -> dict[str, Any]:
    """``graph_summary`` cached per state of the graph: keyed by the latest curation event (every decision
    writes one) and the newest edge, two index lookups, so a new decision or edge shows at once; the counts (a
    scan of every edge, about 0.3 s at 1,000,000 edges) are not paid by every visit of /graph/."""
    latest = CurationEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    newest = AcceptedEdge.objects.order_by("-id").values_list("id", flat=True).first() or 0
    key = f"curation:graph-summary:{latest}:{newest}"
    return dict(cache_get_or_compute(key, graph_summary, GRAPH_SUMMARY_CACHE_SECONDS))


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
    latest = ReviewBatch.objects.select_related("relation").prefetch_related("strata")
    for batch in latest.order_by("-created_at", "-id")[:limit]:
        estimate = batch_estimate(batch)
        rows.append(
            {
                "id": batch.pk,
                "label": f"#{batch.pk} {batch.relation.slug if batch.relation else 'several relations'}",
                "status": batch.status,
                "precision": estimate["precision"],
                "low": estimate["wilson_low"],
                "high": estimate["wilson_high"],
            }
        )
    return rows[::-1]


def instruction_records_read(*, filters: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """The instruction-tuning records of the accepted graph and the consolidated labels (what ``export_graph
    --format instructions`` writes), streamed, each with its ``head_key``, ``relation`` and ``tail`` (COSMO-LM
    splits by the head and groups generation by relation). ``filters`` are the export's (relations, categories,
    min_score, approved_from / approved_to; they narrow the accepted edges, not the judgements)."""
    return instruction_records(filters or {}, details=True)


def accepted_edge_count(*, filters: dict[str, Any] | None = None) -> int:
    return count_edges(filters or {})
