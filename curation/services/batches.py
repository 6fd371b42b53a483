"""Review batches: forming them from the scored pool, their stratified audit samples, audit answers and the batch
decision (with strata excluded)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.services import labels_record, queue_priority_lower
from classifiers.selectors import active_versions
from core.errors import ApplicationError, Conflict, NotFound
from core.events import event_emit
from curation.formation import PlannedBatch, PlannedStratum, StratumKey, batches_plan, score_band
from curation.maths import stratified_estimate
from curation.models import BatchMember, BatchStratum, CurationEvent, ReviewBatch
from curation.pool import unbatched_members, unbatched_strata
from curation.services.common import AUDIT_QUESTIONS, _conf, _log, _move
from curation.services.graph import _accept
from knowledge import lifecycle
from knowledge.selectors import category_list, relation_list

# --- batches ----------------------------------------------------------------------------------------------------


def batches_per_call() -> int:
    """How many batches one press of the button (or one POST without ``max_batches``) forms."""
    return int(_conf("BATCHES_PER_CALL"))


def review_batches_create(
    *,
    actor: Any = None,
    max_size: int | None = None,
    seed: int | None = None,
    target_size: int | None = None,
    across_relations: bool = False,
    max_batches: int | None = None,
) -> list[ReviewBatch]:
    """Plan every scored candidate that is in no open batch into batches of about ``target_size``
    (``BATCH_TARGET_SIZE``; never over ``max_size``, ``BATCH_MAX_SIZE``) with ``curation.formation.batches_plan``
    and store the first ``max_batches`` of the plan (all when None) with their strata and a seeded random audit
    sample per stratum; returns the new batches.

    A batch holds one relation unless ``across_relations`` is asked for. Everything is written in one transaction
    with bulk inserts; the pool is read once, sorted in the database. With ``max_batches``, the plan of the whole
    pool is made from its stratum counts (one ``GROUP BY``) and only the relations of the batches to store are
    read, then planned again from what was read: a relation's plan depends on that relation's strata alone, so
    the batches are the plan's first ones and the rest of the pool is left as it was (a call on a pool of
    1,000,000 reads and writes what it stores, not the pool)."""
    versions = active_versions()
    targets = list(settings.PLAUSI_CLASSIFIERS["TARGETS"])
    if any(target not in versions for target in targets):
        raise Conflict("Every target needs an active classifier before candidates can be batched.")
    size_cap = int(max_size or _conf("BATCH_MAX_SIZE"))
    target = min(int(target_size or _conf("BATCH_TARGET_SIZE")), size_cap)
    if target < 1:
        raise ApplicationError("The batch size must be at least 1.")
    if max_batches is not None and max_batches < 1:
        raise ApplicationError("At least one batch must be asked for.")
    half_width = float(_conf("AUDIT_HALF_WIDTH"))
    bands = list(_conf("SCORE_BANDS"))
    stamp = {t: {"version": v.pk, "token": v.version_token, "threshold": v.threshold} for t, v in versions.items()}
    rng = random.Random(seed)
    created: list[ReviewBatch] = []

    def plan_of(sizes: Mapping[StratumKey, int]) -> list[PlannedBatch]:
        planned = batches_plan(
            sizes,
            target_size=target,
            max_size=size_cap,
            half_width=half_width,
            min_stratum_size=int(_conf("STRATUM_MIN_SIZE")),
            min_audit=int(_conf("STRATUM_MIN_AUDIT")),
            across_relations=across_relations,
        )
        return planned[:max_batches]

    with transaction.atomic():
        to_read: list[int] | None = None  # the relations to read; None: all
        if max_batches is not None and not across_relations:
            whole = plan_of(unbatched_strata(targets=targets, bands=bands))
            to_read = sorted({stratum.relation for batch in whole for stratum in batch.strata})
        members: dict[StratumKey, list[tuple[int, float]]] = {}
        for candidate_id, relation_id, category_id, score in unbatched_members(targets=targets, relations=to_read):
            members.setdefault((relation_id, category_id, score_band(score, bands)), []).append((candidate_id, score))
        plan = plan_of({key: len(rows) for key, rows in members.items()})
        names = _names({key[0] for key in members}, {key[1] for key in members if key[1] is not None})
        rows: list[BatchMember] = []
        for planned in plan:
            relations = {stratum.relation for stratum in planned.strata}
            categories = {c for stratum in planned.strata for c in stratum.categories}
            low, high = _score_range([band for stratum in planned.strata for band in stratum.bands], bands)
            batch = ReviewBatch.objects.create(
                relation_id=next(iter(relations)) if len(relations) == 1 else None,
                category_id=next(iter(categories)) if len(categories) == 1 else None,
                score_low=low,
                score_high=high,
                size=planned.size,
                audit_size=planned.audit_size,
                versions=stamp,
                half_width=half_width,
            )
            strata = BatchStratum.objects.bulk_create(
                [_stratum(batch, planned_stratum, names, bands) for planned_stratum in planned.strata]
            )
            for stratum, planned_stratum in zip(strata, planned.strata, strict=True):
                chosen = [row for part in planned_stratum.parts for row in members[part.key][part.start : part.stop]]
                sampled = set(rng.sample(range(len(chosen)), planned_stratum.audit_size))
                rows.extend(
                    BatchMember(batch=batch, stratum=stratum, candidate_id=cid, score=score, in_audit=i in sampled)
                    for i, (cid, score) in enumerate(chosen)
                )
            _log(
                CurationEvent.Action.BATCH_CREATED,
                actor,
                batch=batch,
                size=planned.size,
                audit_size=planned.audit_size,
                strata=len(strata),
                across_relations=across_relations,
            )
            created.append(batch)
        BatchMember.objects.bulk_create(rows, batch_size=5000)
    return created


def _names(relations: set[int], categories: set[int]) -> dict[tuple[str, int], str]:
    slugs = relation_list().filter(pk__in=relations).values_list("pk", "slug")
    titles = category_list().filter(pk__in=categories).values_list("pk", "name")
    return {("relation", pk): slug for pk, slug in slugs} | {("category", pk): name for pk, name in titles}


def _score_range(band_indexes: list[int], bands: list[float]) -> tuple[float, float]:
    return bands[min(band_indexes)], bands[max(band_indexes) + 1]


def _stratum(
    batch: ReviewBatch, planned: PlannedStratum, names: dict[tuple[str, int], str], bands: list[float]
) -> BatchStratum:
    """An unsaved stratum of ``batch`` with its people's label ("capable_of · Shoes · 0.90-1.00")."""
    categories = planned.categories
    low, high = _score_range(planned.bands, bands)
    if len(categories) > 1:
        what = f"{len(categories)} small categories"
    elif categories[0] is None:
        what = "no category"
    else:
        what = names.get(("category", categories[0]), "?")
    label = f"{names.get(('relation', planned.relation), '?')} · {what} · {low:.2f}-{high:.2f}"
    return BatchStratum(
        batch=batch,
        relation_id=planned.relation,
        category_id=categories[0] if len(categories) == 1 else None,
        category_count=len(categories),
        label=label[:300],
        score_low=low,
        score_high=high,
        size=planned.size,
        audit_size=planned.audit_size,
    )


def strata_estimates(strata: Iterable[BatchStratum]) -> list[dict[str, Any]]:
    """Each stratum's audit result: answers, precision and its interval (``stratified_estimate`` on one
    stratum: Wilson's with the finite population correction), flagged when the precision is under the bar."""
    bar = float(_conf("MIN_PRECISION"))
    rows = []
    for stratum in strata:
        estimate = stratified_estimate([(stratum.size, stratum.audit_yes, stratum.audit_no)])
        precision = estimate["precision"]
        rows.append(
            {
                "id": stratum.pk,
                "label": stratum.label,
                "relation_id": stratum.relation_id,
                "category_id": stratum.category_id,
                "category_count": stratum.category_count,
                "score_low": stratum.score_low,
                "score_high": stratum.score_high,
                "size": stratum.size,
                "audit_size": stratum.audit_size,
                "audit_yes": stratum.audit_yes,
                "audit_no": stratum.audit_no,
                "audited": stratum.audited,
                "precision": precision,
                "wilson_low": estimate["wilson_low"],
                "wilson_high": estimate["wilson_high"],
                "flagged": precision is not None and precision < bar,
                "excluded": stratum.excluded,
            }
        )
    return rows


def batch_estimate(batch: ReviewBatch, *, exclude: Iterable[int] = ()) -> dict[str, Any]:
    """The batch's estimated precision from its audit answers so far: the stratified estimate over its strata
    (``curation.maths.stratified_estimate``; for a batch of one stratum, Yes / audited) with its 95% interval,
    and each stratum's own (``strata``). Strata excluded at approval, and those in ``exclude``, are left out
    of the batch's figures (they are still listed). Reads ``batch.strata`` (prefetch it for lists)."""
    leave_out = set(exclude)
    strata = sorted(batch.strata.all(), key=lambda s: s.pk)
    kept = [s for s in strata if not s.excluded and s.pk not in leave_out]
    estimate = stratified_estimate([(s.size, s.audit_yes, s.audit_no) for s in kept])
    audited = sum(s.audited for s in strata)
    return {
        "audited": audited,
        "audit_size": batch.audit_size,
        "precision": estimate["precision"],
        "wilson_low": estimate["wilson_low"],
        "wilson_high": estimate["wilson_high"],
        "effective_n": estimate["effective_n"],
        "complete": audited >= batch.audit_size,
        "min_precision": float(_conf("MIN_PRECISION")),
        "strata": strata_estimates(strata),
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
            change = {"audit_yes": F("audit_yes") + 1} if value else {"audit_no": F("audit_no") + 1}
        elif previous != value:
            step = 1 if value else -1
            change = {"audit_yes": F("audit_yes") + step, "audit_no": F("audit_no") - step}
        else:
            change = {}
        if change:  # the batch's counts are the sums of its strata's
            ReviewBatch.objects.filter(pk=batch.pk).update(**change)
            BatchStratum.objects.filter(pk=member.stratum_id).update(**change)
        _label_from_audit(candidate_id, value)
        _log(CurationEvent.Action.AUDIT_ANSWER, curator, batch=batch, candidate_id=candidate_id, value=value)
        batch.refresh_from_db()
    return batch


def _label_from_audit(candidate_id: int, value: bool) -> None:
    """A curator's Yes is a Yes on every question up to "typical"; a No is a No on "typical" (the acceptance
    question). Recorded by annotation with method "audit", counted toward the retraining trigger."""
    slugs = AUDIT_QUESTIONS if value else ("typical",)
    labels_record(candidate_id=candidate_id, values=dict.fromkeys(slugs, value), method="audit")


def batch_decide(
    *,
    batch_id: int,
    approve: bool,
    curator: Any,
    override_reason: str = "",
    exclude_strata: Sequence[int] = (),
) -> ReviewBatch:
    """Approve or reject a fully audited batch (see the package docstring).

    An approval may exclude strata (``exclude_strata``: ids of this batch's strata, not all of them): their
    candidates are treated like a rejected batch's (back to the pool at a lower priority, audited Yes's stay
    scored for a later batch) and the bar applies to the stratified estimate of the kept strata."""
    excluded_ids = sorted(set(exclude_strata))
    if excluded_ids and not approve:
        raise ApplicationError("Strata are excluded from an approval; rejecting sends back the whole batch.")
    with transaction.atomic():
        batch = _batch_for_update(batch_id)
        if batch.status != ReviewBatch.Status.AUDITING:
            raise Conflict(f"This batch is already {batch.status}.")
        strata = {stratum.pk: stratum for stratum in batch.strata.all()}
        unknown = [pk for pk in excluded_ids if pk not in strata]
        if unknown:
            raise ApplicationError(f"Not strata of this batch: {', '.join(map(str, unknown))}.")
        if excluded_ids and len(excluded_ids) == len(strata):
            raise ApplicationError("Every stratum is excluded: reject the batch instead.")
        estimate = batch_estimate(batch, exclude=excluded_ids)
        if not estimate["complete"]:
            answered = f"{estimate['audited']} of {batch.audit_size} answered"
            raise Conflict(f"Answer the whole audit sample first ({answered}).")
        override_reason = override_reason.strip()
        below_bar = estimate["precision"] is not None and estimate["precision"] < estimate["min_precision"]
        if approve and below_bar and not override_reason:
            kept = "of the kept strata " if excluded_ids else ""
            raise Conflict(
                f"The estimated precision {kept}{estimate['precision']:.1%} is under the bar of "
                f"{estimate['min_precision']:.0%}: approving needs an override reason."
            )
        now = timezone.now()
        members = list(
            BatchMember.objects.filter(batch=batch).values_list("candidate_id", "score", "audit_value", "stratum_id")
        )
        audit = {k: estimate[k] for k in ("precision", "wilson_low", "wilson_high", "audited")}
        if excluded_ids:
            audit["excluded_strata"] = excluded_ids
        dropped = set(excluded_ids)
        if approve:
            kept_members = [(cid, score, value) for cid, score, value, stratum in members if stratum not in dropped]
            accept = [(cid, score) for cid, score, value in kept_members if value is not False]
            reject = [cid for cid, _score, value in kept_members if value is False]
            back = [cid for cid, _score, value, stratum in members if stratum in dropped and value is not True]
            accepted = _accept(accept, curator=curator, batch=batch, audit=audit, now=now)
            _move(reject, to=lifecycle.REJECTED)
            _return_to_pool(back)
            batch.status = ReviewBatch.Status.APPROVED
            details = {"accepted": accepted, "rejected": len(reject), **audit}
            if excluded_ids:
                BatchStratum.objects.filter(pk__in=excluded_ids).update(excluded=True)
                details["returned_to_pool"] = len(back)
        else:
            back = [cid for cid, _score, value, _stratum in members if value is not True]
            _return_to_pool(back)
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
        event_emit(name=f"batch.{batch.status}", payload=_decision_payload(batch, details))
    return batch


def _decision_payload(batch: ReviewBatch, details: dict[str, Any]) -> dict[str, Any]:
    """``batch.approved`` / ``batch.rejected`` (docs/webhooks.md): the decision and its audit, ids and numbers."""
    counts = {key: details.get(key, 0) for key in ("accepted", "rejected", "returned_to_pool")}
    audit = {key: details.get(key) for key in ("precision", "wilson_low", "wilson_high", "audited")}
    return {"batch": batch.pk, "decided_by": batch.decided_by_id, "overridden": bool(batch.override_reason)} | (
        counts | audit
    )


def _return_to_pool(candidate_ids: list[int]) -> None:
    """Like a rejected batch: back to ``pooled`` for annotation, lower in the queue."""
    _move(candidate_ids, to=lifecycle.POOLED)
    queue_priority_lower(candidate_ids=candidate_ids, by=float(_conf("REJECTED_PRIORITY_PENALTY")))
