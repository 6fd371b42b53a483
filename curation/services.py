"""Curation writes: review batches with audit samples, audit answers (which become training labels), batch and
single-candidate decisions with provenance and an audit log, the knowledge graph's nodes and edges.

Batches hold ``scored`` candidates (classifier-accepted, no human label) of one relation and category within
one band of their lowest target score, at most ``BATCH_MAX_SIZE``; each gets a random audit sample sized so the
95% interval on the batch's precision has ``AUDIT_HALF_WIDTH`` on each side. Curators answer the sample, read
the estimate with its Wilson interval and approve (every candidate becomes an accepted edge, except audited
No's, which are rejected) or reject (the candidates go back to the pool at a lower annotation priority).
Approving a batch whose estimate is under ``MIN_PRECISION`` needs an override reason, which is logged.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.services import labels_record, queue_priority_lower
from classifiers.selectors import active_versions, lowest_scores
from core.errors import ApplicationError, Conflict, NotFound
from core.events import event_emit
from core.outbox import run_enqueue
from core.runs import RunHandle, run_claim, run_execute
from curation import exports
from curation.maths import audit_sample_size, wilson_interval
from curation.models import AcceptedEdge, BatchMember, CurationEvent, ExportRun, GraphNode, ReviewBatch
from knowledge import lifecycle
from knowledge.ingest.parsing import normalize_text
from knowledge.selectors import candidate_for_update, candidate_graph_rows
from knowledge.services import candidate_status_transition

AUDIT_QUESTIONS = ("complete", "relevant", "informative", "plausible", "typical")
# What a curator may accept or reject outside a batch (the lifecycle allows each of these to either decision).
CURATABLE = ("scored", "labelled", "accepted", "rejected", "pooled")


def _conf(name: str) -> Any:
    return settings.PLAUSI_CURATION[name]


def _log(
    action: str, actor: Any, *, batch: ReviewBatch | None = None, candidate_id: int | None = None, **details: Any
) -> None:
    CurationEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        batch=batch,
        candidate_id=candidate_id,
        details=details,
    )


# --- batches ----------------------------------------------------------------------------------------------------


def review_batches_create(
    *, actor: Any = None, max_size: int | None = None, seed: int | None = None
) -> list[ReviewBatch]:
    """Group every scored candidate that is in no open batch into new batches; returns them."""
    versions = active_versions()
    targets = list(settings.PLAUSI_CLASSIFIERS["TARGETS"])
    if any(target not in versions for target in targets):
        raise Conflict("Every target needs an active classifier before candidates can be batched.")
    size_cap = int(max_size or _conf("BATCH_MAX_SIZE"))
    half_width = float(_conf("AUDIT_HALF_WIDTH"))
    bands = list(_conf("SCORE_BANDS"))
    marks = ", ".join(["%s"] * len(targets))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, c.relation_id, p.category_id, min(s.score) FROM knowledge_candidate c "
            "JOIN classifiers_candidatescore s ON s.candidate_id = c.id "
            "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
            "LEFT JOIN knowledge_product p ON p.id = b.product_id "
            f"WHERE c.status = 'scored' AND s.target IN ({marks}) AND NOT EXISTS "
            "(SELECT 1 FROM curation_batchmember m WHERE m.candidate_id = c.id AND m.is_open) "
            "GROUP BY c.id, c.relation_id, p.category_id ORDER BY c.relation_id, p.category_id, min(s.score) DESC",
            targets,
        )
        rows = cursor.fetchall()
    groups: dict[tuple[int, int | None, int], list[tuple[int, float]]] = {}
    for candidate_id, relation_id, category_id, score in rows:
        band = max(i for i in range(len(bands) - 1) if score >= bands[i] or i == 0)
        groups.setdefault((relation_id, category_id, band), []).append((candidate_id, float(score)))
    stamp = {t: {"version": v.pk, "token": v.version_token, "threshold": v.threshold} for t, v in versions.items()}
    created: list[ReviewBatch] = []
    rng = random.Random(seed)
    with transaction.atomic():
        for (relation_id, category_id, band), members in groups.items():
            for start in range(0, len(members), size_cap):
                part = members[start : start + size_cap]
                audit = audit_sample_size(len(part), half_width)
                batch = ReviewBatch.objects.create(
                    relation_id=relation_id,
                    category_id=category_id,
                    score_low=bands[band],
                    score_high=bands[band + 1],
                    size=len(part),
                    audit_size=audit,
                    versions=stamp,
                    half_width=half_width,
                )
                sampled = set(rng.sample(range(len(part)), audit))
                BatchMember.objects.bulk_create(
                    [
                        BatchMember(batch=batch, candidate_id=candidate_id, score=score, in_audit=i in sampled)
                        for i, (candidate_id, score) in enumerate(part)
                    ],
                    batch_size=5000,
                )
                _log(CurationEvent.Action.BATCH_CREATED, actor, batch=batch, size=len(part), audit_size=audit)
                created.append(batch)
    return created


def batch_estimate(batch: ReviewBatch) -> dict[str, Any]:
    """The batch's estimated precision from its audit answers so far, with the 95% Wilson interval."""
    low, high = wilson_interval(batch.audit_yes, batch.audited)
    return {
        "audited": batch.audited,
        "audit_size": batch.audit_size,
        "precision": batch.audit_yes / batch.audited if batch.audited else None,
        "wilson_low": low,
        "wilson_high": high,
        "complete": batch.audited >= batch.audit_size,
        "min_precision": float(_conf("MIN_PRECISION")),
    }


def _batch_for_update(batch_id: int) -> ReviewBatch:
    try:
        return ReviewBatch.objects.select_for_update().get(pk=batch_id)
    except ReviewBatch.DoesNotExist:
        raise NotFound("No such review batch.") from None


def audit_answer(*, batch_id: int, candidate_id: int, value: bool, curator: Any) -> ReviewBatch:
    """Record a curator's answer for an audit-sample candidate (changing an earlier answer is allowed while the
    batch is open). The answer also becomes a human label (see ``_label_from_audit``)."""
    with transaction.atomic():
        batch = _batch_for_update(batch_id)
        if batch.status != ReviewBatch.Status.AUDITING:
            raise Conflict(f"This batch is {batch.status}.")
        member = BatchMember.objects.select_for_update().filter(batch=batch, candidate_id=candidate_id).first()
        if member is None or not member.in_audit:
            raise ApplicationError("That candidate is not in this batch's audit sample.")
        previous = member.audit_value
        member.audit_value = value
        member.audited_by = curator
        member.audited_at = timezone.now()
        member.save(update_fields=["audit_value", "audited_by", "audited_at"])
        if previous is None:
            ReviewBatch.objects.filter(pk=batch.pk).update(
                **({"audit_yes": F("audit_yes") + 1} if value else {"audit_no": F("audit_no") + 1})
            )
        elif previous != value:
            ReviewBatch.objects.filter(pk=batch.pk).update(
                audit_yes=F("audit_yes") + (1 if value else -1), audit_no=F("audit_no") + (-1 if value else 1)
            )
        _label_from_audit(candidate_id, value)
        _log(CurationEvent.Action.AUDIT_ANSWER, curator, batch=batch, candidate_id=candidate_id, value=value)
        batch.refresh_from_db()
    return batch


def _label_from_audit(candidate_id: int, value: bool) -> None:
    """A curator's Yes is a Yes on every question up to "typical"; a No is a No on "typical" (the acceptance
    question). Recorded by annotation with method "audit", counted toward the retraining trigger."""
    slugs = AUDIT_QUESTIONS if value else ("typical",)
    labels_record(candidate_id=candidate_id, values=dict.fromkeys(slugs, value), method="audit")


def batch_decide(*, batch_id: int, approve: bool, curator: Any, override_reason: str = "") -> ReviewBatch:
    """Approve or reject a fully audited batch (see the module docstring)."""
    with transaction.atomic():
        batch = _batch_for_update(batch_id)
        if batch.status != ReviewBatch.Status.AUDITING:
            raise Conflict(f"This batch is already {batch.status}.")
        estimate = batch_estimate(batch)
        if not estimate["complete"]:
            raise Conflict(f"Answer the whole audit sample first ({batch.audited} of {batch.audit_size} answered).")
        override_reason = override_reason.strip()
        below_bar = estimate["precision"] is not None and estimate["precision"] < estimate["min_precision"]
        if approve and below_bar and not override_reason:
            raise Conflict(
                f"The estimated precision {estimate['precision']:.1%} is under the bar of "
                f"{estimate['min_precision']:.0%}: approving needs an override reason."
            )
        now = timezone.now()
        members = list(BatchMember.objects.filter(batch=batch).values_list("candidate_id", "score", "audit_value"))
        audit = {k: estimate[k] for k in ("precision", "wilson_low", "wilson_high", "audited")}
        if approve:
            accept = [(cid, score) for cid, score, value in members if value is not False]
            reject = [cid for cid, _score, value in members if value is False]
            accepted = _accept(accept, curator=curator, batch=batch, audit=audit, now=now)
            _move(reject, to=lifecycle.REJECTED)
            batch.status = ReviewBatch.Status.APPROVED
            details = {"accepted": accepted, "rejected": len(reject), **audit}
        else:
            back = [cid for cid, _score, value in members if value is not True]
            _move(back, to=lifecycle.POOLED)
            queue_priority_lower(candidate_ids=back, by=float(_conf("REJECTED_PRIORITY_PENALTY")))
            # audited Yes answers are human labels now; those candidates stay scored for a later batch
            batch.status = ReviewBatch.Status.REJECTED
            details = {"returned_to_pool": len(back), **audit}
        BatchMember.objects.filter(batch=batch).update(is_open=False)
        batch.decided_at = now
        batch.decided_by = curator
        batch.override_reason = override_reason if approve and below_bar else ""
        batch.save(update_fields=["status", "decided_at", "decided_by", "override_reason"])
        if approve and below_bar:
            details["override_reason"] = override_reason
        action = CurationEvent.Action.BATCH_APPROVED if approve else CurationEvent.Action.BATCH_REJECTED
        _log(action, curator, batch=batch, **details)
        if approve:
            event_emit(name="graph.updated", payload={"batch": batch.pk, "accepted": details["accepted"]})
    return batch


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


def _move(candidate_ids: list[int], *, to: str, from_statuses: Sequence[str] = ("scored",)) -> int:
    """Move candidates through the knowledge app's lifecycle (scored ones only, unless told otherwise; those
    already there stay)."""
    sources = [status for status in from_statuses if status != to]
    return candidate_status_transition(candidates=candidate_ids, to_status=to, from_statuses=sources)


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


# --- exports ----------------------------------------------------------------------------------------------------

EXPORT_SUFFIX = {"jsonl": ".jsonl", "neo4j": ".zip", "ntriples": ".nt", "instructions": ".instructions.jsonl"}


def export_folder() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "exports"


def export_run_create(
    *, format: str, filters: dict[str, Any] | None = None, actor: Any = None, enqueue: bool = True
) -> ExportRun:
    """Queue an export of the accepted graph; the file is written by a worker (no export in a web request).
    ``enqueue=False`` is for the management command, which runs it in its own process."""
    if format not in ExportRun.Format.values:
        raise ApplicationError(f"Unknown format {format!r}; formats: {', '.join(ExportRun.Format.values)}.")
    with transaction.atomic():
        run = ExportRun.objects.create(
            format=format,
            filters=filters or {},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if enqueue:
            from curation.tasks import export_run_execute_task

            run_enqueue(task=export_run_execute_task, run_id=run.pk)  # through the outbox
    return run


def export_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Take a queued export; a running one only by a redelivery of its own task or once its heartbeat is stale
    (the file is then written again from the start)."""
    return run_claim(ExportRun, run_id=run_id, claimer=claimer, progress_done=0)


def export_run_execute(*, run_id: int, progress: Callable[[int], None] | None = None) -> ExportRun:
    """Write the export file (streaming, under a temporary name), then record its size, checksum and counts and
    put it in place in the transaction that ends the run, so that an export completes once."""
    return run_execute(ExportRun, run_id=run_id, work=lambda handle: _export(run_id, handle, progress))


def _export(run_id: int, handle: RunHandle, progress: Callable[[int], None] | None) -> None:
    run = ExportRun.objects.get(pk=run_id)
    started = time.perf_counter()
    folder = export_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"plausi-graph-{run.pk}{EXPORT_SUFFIX[run.format]}"
    path = folder / name
    for leftover in folder.glob(f".{name}.*.partial"):  # an earlier attempt's, whose worker died
        leftover.unlink(missing_ok=True)
    partial = folder / f".{name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        total = exports.count_edges(run.filters)
        handle.update(progress_total=total, file_name=name, phase="writing")

        def report(done: int) -> None:
            handle.progress(done=done)
            if progress is not None:
                progress(done)

        if run.format == ExportRun.Format.NEO4J:
            counts = exports.write_neo4j_zip(partial, run.filters, report)
        else:
            with partial.open("wb") as out:
                if run.format == ExportRun.Format.JSONL:
                    counts = exports.write_jsonl(out, run.filters, report)
                elif run.format == ExportRun.Format.INSTRUCTIONS:
                    counts = exports.write_instructions(out, run.filters, report)
                else:
                    counts = exports.write_ntriples(out, run.filters, report, base=_conf("RDF_BASE"))
        size, digest = partial.stat().st_size, exports.file_sha256(partial)
        with transaction.atomic():
            handle.finish(
                message=f"{counts['edges']:,} edges written",
                phase="done",
                progress_done=counts["edges"],
                file_size=size,
                sha256=digest,
                counts=counts,
                timings={"total_s": round(time.perf_counter() - started, 3)},
            )
            _log(CurationEvent.Action.EXPORT, run.created_by, export=run.pk, format=run.format, counts=counts)
            partial.replace(path)  # last: if the transaction fails after this, the run is taken over and rewrites it
    finally:
        partial.unlink(missing_ok=True)
