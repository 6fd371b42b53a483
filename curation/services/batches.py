"""Review batches: grouping scored candidates, their audit samples, audit answers and the batch decision."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.services import labels_record, queue_priority_lower
from classifiers.selectors import active_versions
from core.errors import ApplicationError, Conflict, NotFound
from core.events import event_emit
from curation.maths import audit_sample_size, wilson_interval
from curation.models import BatchMember, CurationEvent, ReviewBatch
from curation.services.common import AUDIT_QUESTIONS, _conf, _log, _move
from curation.services.graph import _accept
from knowledge import lifecycle

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
