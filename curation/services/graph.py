"""The accepted graph: a curator's decision on one candidate, and writing accepted edges with their nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from classifiers.selectors import active_versions, lowest_scores
from core.errors import Conflict, NotFound
from core.events import event_emit
from curation.models import AcceptedEdge, BatchMember, CurationEvent, GraphNode, ReviewBatch
from curation.services.common import CURATABLE, _log, _move
from knowledge import lifecycle
from knowledge.ingest.parsing import normalize_text
from knowledge.selectors import candidate_for_update, candidate_graph_rows


def candidate_decide(*, candidate_id: int, accept: bool, curator: Any, note: str = "") -> Any:
    """Accept or reject one candidate outside a batch (from scored, labelled or an earlier decision)."""
    with transaction.atomic():
        candidate = candidate_for_update(candidate_id=candidate_id)
        if candidate is None:
            raise NotFound("No such candidate.")
        if candidate.status not in CURATABLE:
            raise Conflict(f"A candidate that is {candidate.status} cannot be curated.")
        now = timezone.now()
        if accept:
            score = _scores_of([candidate_id]).get(candidate_id)
            _accept([(candidate_id, score)], curator=curator, batch=None, audit={}, now=now)
        else:
            AcceptedEdge.objects.filter(candidate_id=candidate_id).delete()
            _move([candidate_id], to=lifecycle.REJECTED, from_statuses=CURATABLE)
        BatchMember.objects.filter(candidate_id=candidate_id, is_open=True).delete()
        action = CurationEvent.Action.CANDIDATE_ACCEPTED if accept else CurationEvent.Action.CANDIDATE_REJECTED
        _log(action, curator, candidate_id=candidate_id, note=note)
        event_emit(name="graph.updated", payload={"candidate": candidate_id, "accepted": bool(accept)})
        candidate.refresh_from_db()
    return candidate


def _scores_of(candidate_ids: list[int]) -> dict[int, float]:
    return lowest_scores(candidate_ids)


# --- the graph --------------------------------------------------------------------------------------------------


def _nodes(wanted: set[tuple[str, str, str]]) -> dict[tuple[str, str], int]:
    """Ids of (kind, key) nodes, creating the missing ones (labels of existing nodes are kept)."""
    if not wanted:
        return {}
    GraphNode.objects.bulk_create(
        [GraphNode(kind=kind, key=key[:500], label=label[:1000]) for kind, key, label in wanted],
        batch_size=5000,
        ignore_conflicts=True,
    )
    found: dict[tuple[str, str], int] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, key, _label in wanted:
        by_kind.setdefault(kind, []).append(key[:500])
    for kind, keys in by_kind.items():
        for start in range(0, len(keys), 5000):
            for pk, key in GraphNode.objects.filter(kind=kind, key__in=keys[start : start + 5000]).values_list(
                "pk", "key"
            ):
                found[(kind, key)] = pk
    return found


def _accept(
    members: Sequence[tuple[int, float | None]],
    *,
    curator: Any,
    batch: ReviewBatch | None,
    audit: dict[str, Any],
    now: Any,
) -> int:
    """Accepted edges for candidates: head node (the query of a search, the first product of a co-purchase, or the
    plain head), relation, tail concept node (normalised tail: equal tails are one node), the product and category
    of the behaviour, and the provenance."""
    if not members:
        return 0
    scores = dict(members)
    rows = candidate_graph_rows(list(scores))
    wanted: set[tuple[str, str, str]] = set()
    plans = []
    for (
        pk,
        head_kind,
        head_text,
        relation_id,
        tail,
        tail_norm,
        query_key,
        query_text,
        product_id,
        product_title,
        category_id,
    ) in rows:
        product = (GraphNode.Kind.PRODUCT, product_id, product_title or product_id) if product_id else None
        if head_kind == "search_buy" and query_key:
            head = (GraphNode.Kind.QUERY, query_key, query_text)
        elif product is not None:
            head = product
        else:
            head = (GraphNode.Kind.HEAD, normalize_text(head_text) or head_text, head_text)
        concept = (GraphNode.Kind.CONCEPT, tail_norm or normalize_text(tail), tail)
        wanted |= {head, concept} | ({product} if product else set())
        plans.append((pk, head, relation_id, concept, product, category_id))
    ids = _nodes(wanted)
    versions = (
        batch.versions
        if batch is not None
        else {
            t: {"version": v.pk, "token": v.version_token, "threshold": v.threshold}
            for t, v in active_versions().items()
        }
    )
    AcceptedEdge.objects.filter(candidate_id__in=[p[0] for p in plans]).delete()  # a re-acceptance replaces
    AcceptedEdge.objects.bulk_create(
        [
            AcceptedEdge(
                candidate_id=pk,
                head_id=ids[(head[0], head[1][:500])],
                relation_id=relation_id,
                tail_id=ids[(concept[0], concept[1][:500])],
                product_id=ids[(product[0], product[1][:500])] if product else None,
                category_id=category_id,
                score=scores.get(pk),
                batch=batch,
                versions=versions,
                audit=audit,
                curator=curator if getattr(curator, "is_authenticated", False) else None,
                accepted_at=now,
            )
            for pk, head, relation_id, concept, product, category_id in plans
        ],
        batch_size=2000,  # 13 columns: stay under PostgreSQL's 65,535 bound parameters (server-side binding)
    )
    _move([p[0] for p in plans], to=lifecycle.ACCEPTED, from_statuses=CURATABLE)
    return len(plans)
