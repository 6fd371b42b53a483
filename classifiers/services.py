"""Classifier writes: training runs, the registry's promotion rule, pool scoring by id-range chunks, and what
scores change downstream (candidates becoming ``scored``, annotation priorities from uncertainty).

The loop: ``retraining_check`` (Celery beat, every 30 s) requests a training of a target once enough new
consolidated labels arrived; a training run cross-validates, fits, registers a ``ModelVersion`` and activates it
when it is not worse than the active one on the same folds; activation starts a scoring run, whose chunks are
independent, idempotent tasks; the last chunk finishes the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from annotation.models import NewLabelCount, Question
from classifiers import selectors
from classifiers.ml import metrics
from classifiers.ml.data import Batch, Example
from classifiers.ml.feature_store import FeatureStore
from classifiers.ml.features import N_FEATURES, SCHEME, HashedFeatures
from classifiers.ml.models import Classifier, EncoderLogistic, TfidfLogistic, load_model, make_model, unknown_params
from classifiers.models import (
    ModelKind,
    ModelVersion,
    RunStatus,
    ScoringChunk,
    ScoringRun,
    TrainingRun,
)
from core.errors import ApplicationError, Conflict
from core.outbox import outbox_enqueue, run_enqueue

logger = logging.getLogger(__name__)

STALE_CLAIM_SECONDS = 15 * 60  # a running chunk not finished after this is taken over by a sweep


def _conf(name: str) -> Any:
    return settings.PLAUSI_CLASSIFIERS[name]


def queue_for(kind: str) -> str:
    """Cross-encoders train and score on the ``gpu`` queue; the linear kinds on ``cpu`` (with the configured
    prefix: deployments that share a broker, and tests that run their own workers, use their own queues)."""
    return _conf("QUEUE_PREFIX") + ("gpu" if kind == ModelKind.CROSS_ENCODER else "cpu")


def _with_caches(model: Classifier) -> Classifier:
    """Give an encoder model the database embedding cache (vectors depend only on the text)."""
    if isinstance(model, EncoderLogistic):
        from filtering.embedding_cache import DatabaseEmbeddingCache

        model.embedding_cache = DatabaseEmbeddingCache()
    return model


def _default_params(kind: str) -> dict[str, Any]:
    if kind == ModelKind.CROSS_ENCODER and _conf("CROSS_ENCODER_PATH"):
        return {"model_path": _conf("CROSS_ENCODER_PATH")}
    if kind == ModelKind.ENCODER_LR and _conf("ENCODER_PATH"):
        return {"encoder_path": _conf("ENCODER_PATH")}
    return {}


# --- training -------------------------------------------------------------------------------------------------


def label_counter(target: str) -> int:
    """The cumulative count of labels decided on the target's questions (the target and those gating it)."""
    order = Question.objects.filter(slug=target).values_list("order", flat=True).first()
    if order is None:
        return 0
    total = NewLabelCount.objects.filter(question__order__lte=order).aggregate(total=Sum("count"))["total"]
    return int(total or 0)


def training_run_request(
    *,
    target: str,
    kind: str | None = None,
    params: dict[str, Any] | None = None,
    trigger: str = TrainingRun.Trigger.MANUAL,
    force: bool = False,
    requested_by: Any = None,
) -> TrainingRun | None:
    """Queue a training of ``target``; None when one is already queued or running (single-flight)."""
    kind = kind or _conf("DEFAULT_KIND")
    if target not in _conf("TARGETS"):
        raise ApplicationError(f"Unknown target {target!r}; targets: {', '.join(_conf('TARGETS'))}.")
    if kind not in ModelKind.values:
        raise ApplicationError(f"Unknown model kind {kind!r}; kinds: {', '.join(ModelKind.values)}.")
    unknown = unknown_params(kind, params or {})
    if unknown:
        raise ApplicationError(f"{kind} takes no parameter {', '.join(map(repr, unknown))}.")
    from classifiers.tasks import training_run_execute_task

    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                target=target,
                kind=kind,
                params={**_default_params(kind), **(params or {})},
                trigger=trigger,
                force=force,
                requested_by=requested_by,
                label_counter=label_counter(target),
            )
            run_enqueue(task=training_run_execute_task.s().set(queue=queue_for(kind)), run_id=run.pk)
    except IntegrityError:
        return None
    return run


def retraining_check() -> list[TrainingRun]:
    """Request a training of every target that gained enough new labels since its last training request:
    ``MIN_LABELS`` before its first version, ``RETRAIN_EVERY`` after. Debounced by its schedule (Celery beat)."""
    requested = []
    for target in _conf("TARGETS"):
        last = TrainingRun.objects.filter(target=target).order_by("-created_at", "-id").first()
        needed = _conf("RETRAIN_EVERY") if ModelVersion.objects.filter(target=target).exists() else _conf("MIN_LABELS")
        if label_counter(target) - (last.label_counter if last else 0) < needed:
            continue
        run = training_run_request(target=target, trigger=TrainingRun.Trigger.LABELS)
        if run is not None:
            requested.append(run)
    return requested


def training_run_claim(*, run_id: int) -> bool:
    return bool(
        TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=timezone.now()
        )
    )


def _dataset(target: str) -> tuple[list[int], Batch, np.ndarray]:
    labels = selectors.target_labels(target)
    examples = selectors.candidate_examples(sorted(labels))
    ids = sorted(examples)
    return ids, Batch([examples[i] for i in ids]), np.array([labels[i] for i in ids], dtype=np.int64)


def cross_validated(
    kind: str, params: dict[str, Any], batch: Batch, y: np.ndarray, folds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rows evaluated, their out-of-fold P(yes)). The linear kinds use every fold; the cross-encoder, whose
    fits are expensive, holds out fold 0 only."""
    evaluated_folds = [0] if kind == ModelKind.CROSS_ENCODER else sorted(set(folds.tolist()))
    rows_out: list[np.ndarray] = []
    scores_out: list[np.ndarray] = []
    for fold in evaluated_folds:
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        if len(np.unique(y[train])) < 2 or not len(test):
            continue
        model = _with_caches(make_model(kind, params))
        model.fit(batch.subset(train), y[train])
        rows_out.append(test)
        scores_out.append(model.predict_proba(batch.subset(test)))
    if not rows_out:
        raise ApplicationError("Too few labels of each class to evaluate a model.")
    return np.concatenate(rows_out), np.concatenate(scores_out)


def _artifact_folder(target: str, run_id: int) -> Path:
    return Path(_conf("MODEL_ROOT")) / target / f"run-{run_id}"


def training_run_execute(*, run_id: int) -> TrainingRun:
    """Train, evaluate (cross-validated, same folds for the new and the active model), register, and activate
    when not worse. Failures are recorded on the run; nothing half-registered is left active."""
    run = TrainingRun.objects.get(pk=run_id)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        _phase(run, "reading labels")
        _ids, batch, y = _dataset(run.target)
        positives = int(y.sum())
        if len(y) < _conf("MIN_LABELS") or positives == 0 or positives == len(y):
            raise ApplicationError(
                f"{run.target}: {len(y)} labelled candidates ({positives} Yes); training needs at least "
                f"{_conf('MIN_LABELS')} with both Yes and No."
            )
        timings["read_s"] = time.perf_counter() - started
        folds = metrics.stratified_folds(y, int(_conf("FOLDS")), seed=run.pk)
        _phase(run, "cross-validating", total=len(y))
        rows, scores = cross_validated(run.kind, run.params, batch, y, folds)
        evaluation = metrics.evaluate(y[rows], scores, target_precision=float(_conf("TARGET_PRECISION")))
        timings["evaluate_s"] = time.perf_counter() - started - timings["read_s"]
        _phase(run, "fitting")
        model = _with_caches(make_model(run.kind, run.params))
        fit_started = time.perf_counter()
        model.fit(batch, y)
        timings["fit_s"] = time.perf_counter() - fit_started
        folder = _artifact_folder(run.target, run.pk)
        if folder.exists():
            shutil.rmtree(folder)  # a re-executed run replaces its own artifact
        model.save(folder)
        version = ModelVersion.objects.create(
            target=run.target,
            kind=run.kind,
            params=model.params(),
            label_count=len(y),
            metrics=evaluation,
            threshold=evaluation["threshold"],
            artifact=str(folder.relative_to(Path(_conf("MODEL_ROOT")))),
            training_run=run,
        )
        _phase(run, "comparing with the active version")
        promotion = _promotion(version, batch, y, folds, force=run.force)
        version.promotion = promotion
        version.save(update_fields=["promotion"])
        if promotion["activate"]:
            model_version_activate(version_id=version.pk, user=run.requested_by, force=run.force)
        timings["total_s"] = time.perf_counter() - started
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            phase="done",
            label_count=len(y),
            progress_done=len(y),
            progress_total=len(y),
            timings=timings,
            message=promotion["reason"],
            finished_at=timezone.now(),
        )
    except Exception as exc:
        logger.exception("training run %s failed", run_id)
        TrainingRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, message=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run


def _phase(run: TrainingRun, phase: str, *, total: int | None = None) -> None:
    values: dict[str, Any] = {"phase": phase}
    if total is not None:
        values["progress_total"] = total
    TrainingRun.objects.filter(pk=run.pk).update(**values)


def _promotion(version: ModelVersion, batch: Batch, y: np.ndarray, folds: np.ndarray, *, force: bool) -> dict[str, Any]:
    """Activate when there is no active version, when forced, or when the new version's cross-validated ROC
    AUC is at least the active version's, refitted with its own kind and parameters on the same folds."""
    active = ModelVersion.objects.filter(target=version.target, is_active=True).first()
    new_auc = version.metrics.get("roc_auc")
    if active is None:
        return {"activate": True, "reason": "first version of this target", "new_auc": new_auc}
    rows, scores = cross_validated(active.kind, active.params, batch, y, folds)
    active_auc = metrics.roc_auc(y[rows], scores)
    better = new_auc is not None and (active_auc is None or new_auc >= active_auc - 1e-9)
    reason = (
        f"ROC AUC {_fmt(new_auc)} vs. the active v{active.pk}'s {_fmt(active_auc)} on the same folds"
        + ("" if better else "; kept the active version")
        + ("; activated by force" if force and not better else "")
    )
    return {
        "activate": better or force,
        "forced": force and not better,
        "reason": reason,
        "new_auc": new_auc,
        "active_auc": active_auc,
        "compared_with": active.pk,
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def model_version_activate(*, version_id: int, user: Any = None, force: bool = False) -> ScoringRun:
    """Make a version the active one of its target (with a new version token) and start scoring the pool."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        ModelVersion.objects.filter(target=version.target, is_active=True).exclude(pk=version.pk).update(
            is_active=False
        )
        token = (ModelVersion.objects.aggregate(top=Max("version_token"))["top"] or 0) + 1
        version.is_active = True
        version.version_token = token
        version.activated_at = timezone.now()
        version.activated_by = user if getattr(user, "is_authenticated", False) else None
        if force:
            version.promotion = {**version.promotion, "forced_by_admin": True}
        version.save(update_fields=["is_active", "version_token", "activated_at", "activated_by", "promotion"])
        return scoring_run_start(version=version)


# --- scoring --------------------------------------------------------------------------------------------------


def scoring_run_start(*, version: ModelVersion, chunk_size: int | None = None) -> ScoringRun:
    """Split the scorable pool into id ranges and enqueue one task per range (after commit)."""
    if not version.is_active or version.version_token is None:
        raise Conflict("Only the active version of a target scores the pool.")
    size = int(chunk_size or _conf("CHUNK_SIZE"))
    bounds = selectors.scorable_id_bounds()
    run = ScoringRun.objects.create(
        model_version=version, version_token=version.version_token, chunk_size=size, status=RunStatus.RUNNING
    )
    chunks = [] if bounds is None else list(range(bounds[0], bounds[1], size))
    ScoringChunk.objects.bulk_create(
        [ScoringChunk(run=run, start_id=start, end_id=min(start + size, bounds[1])) for start in chunks]
        if bounds
        else []
    )
    total = 0
    if bounds:
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(selectors.SCORABLE))
            cursor.execute(
                f"SELECT count(*) FROM knowledge_candidate WHERE status IN ({marks})", list(selectors.SCORABLE)
            )
            total = int(cursor.fetchone()[0])
    ScoringRun.objects.filter(pk=run.pk).update(
        chunks_total=len(chunks), progress_total=total, started_at=timezone.now()
    )
    if not chunks:
        _scoring_run_finish(run.pk)
    else:
        chunk_ids = list(ScoringChunk.objects.filter(run=run).values_list("pk", flat=True))
        _enqueue_chunks(chunk_ids, queue_for(version.kind))
    run.refresh_from_db()
    return run


def _enqueue_chunks(chunk_ids: list[int], queue: str) -> None:
    """One task per chunk, through the outbox (published after the caller's commit, or by the relay)."""
    for chunk_id in chunk_ids:
        outbox_enqueue(task_name="classifiers.scoring_chunk_execute", args=[chunk_id], queue=queue)


def scoring_chunk_claim(*, chunk_id: int, claimer: str) -> bool:
    """Claim a pending chunk; a running one only by the same claimer (a redelivery after its worker died) or
    once its claim is stale."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=STALE_CLAIM_SECONDS)
    from django.db.models import Q

    return bool(
        ScoringChunk.objects.filter(pk=chunk_id)
        .filter(
            Q(status=ScoringChunk.Status.PENDING)
            | Q(status=ScoringChunk.Status.RUNNING, claimed_by=claimer)
            | Q(status=ScoringChunk.Status.RUNNING, claimed_at__lt=stale)
        )
        .update(status=ScoringChunk.Status.RUNNING, claimed_by=claimer, claimed_at=now, attempts=F("attempts") + 1)
    )


_MODELS: OrderedDict[int, Classifier] = OrderedDict()


def _loaded(version: ModelVersion) -> Classifier:
    """The model of a version, loaded once per worker process (two kept)."""
    model = _MODELS.get(version.pk)
    if model is None:
        model = _with_caches(load_model(Path(_conf("MODEL_ROOT")) / version.artifact))
        _MODELS[version.pk] = model
        while len(_MODELS) > 2:
            _MODELS.popitem(last=False)
    return model


def feature_store() -> FeatureStore:
    return FeatureStore(Path(_conf("FEATURE_ROOT")), SCHEME, N_FEATURES)


def _chunk_scores(version: ModelVersion, chunk: ScoringChunk) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    ids = selectors.scorable_ids_in_range(chunk.start_id, chunk.end_id)
    model = _loaded(version)
    info: dict[str, Any] = {}
    if isinstance(model, TfidfLogistic):
        found, rows, computed = feature_store().rows_for(
            chunk.start_id, chunk.end_id, ids, selectors.candidate_examples, HashedFeatures().transform
        )
        info["features_computed"] = computed
        return found, model.predict_proba(Batch([], {"hashed": rows})), info
    examples = selectors.candidate_examples(ids)
    found_ids = [i for i in ids if i in examples]
    batch: list[Example] = [examples[i] for i in found_ids]
    return np.array(found_ids, dtype=np.int64), model.predict_proba(Batch(batch)), info


def scoring_chunk_execute(*, chunk_id: int, claimer: str) -> int:
    """Score one chunk and write its scores and its completion in one transaction; returns rows written.

    A chunk of a version that is no longer active is finished without work (its scores would be ignored).
    """
    chunk = ScoringChunk.objects.select_related("run__model_version").get(pk=chunk_id)
    run = chunk.run
    version = run.model_version
    started = time.perf_counter()
    superseded = not ModelVersion.objects.filter(
        pk=version.pk, is_active=True, version_token=run.version_token
    ).exists()
    ids, scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if not superseded:
        ids, scores, _info = _chunk_scores(version, chunk)
    with transaction.atomic():
        written = scores_write(ids=ids, scores=scores, version=version, token=run.version_token)
        finished = ScoringChunk.objects.filter(
            pk=chunk.pk, status=ScoringChunk.Status.RUNNING, claimed_by=claimer
        ).update(status=ScoringChunk.Status.DONE, scored=written, seconds=time.perf_counter() - started)
        if not finished:
            transaction.set_rollback(True)  # someone else finished it meanwhile: keep theirs
            return 0
        ScoringRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1, progress_done=F("progress_done") + len(ids)
        )
        done = ScoringRun.objects.filter(pk=run.pk, chunks_done__gte=F("chunks_total")).exists()
    if done:
        _scoring_run_finish(run.pk)
    return written


def scores_write(*, ids: np.ndarray, scores: np.ndarray, version: ModelVersion, token: int) -> int:
    """Upsert (candidate, target) scores; a row keeps its score when it was written with a newer token."""
    if not len(ids):
        return 0
    now = timezone.now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS scores_in (candidate_id bigint, score double precision) "
                "ON COMMIT DELETE ROWS"
            )
            with cursor.cursor.copy("COPY scores_in (candidate_id, score) FROM STDIN") as copy:
                for candidate_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
                    copy.write_row((candidate_id, score))
            cursor.execute(
                "INSERT INTO classifiers_candidatescore (candidate_id, target, model_version_id, version_token, "
                "score, updated_at) SELECT candidate_id, %s, %s, %s, score, %s FROM scores_in "
                "ON CONFLICT (candidate_id, target) DO UPDATE SET score = excluded.score, "
                "model_version_id = excluded.model_version_id, version_token = excluded.version_token, "
                "updated_at = excluded.updated_at "
                "WHERE classifiers_candidatescore.version_token <= excluded.version_token",
                [version.target, version.pk, token, now],
            )
            written = cursor.rowcount
            cursor.execute("TRUNCATE scores_in")
            return int(written)
        cursor.executemany(
            "INSERT INTO classifiers_candidatescore (candidate_id, target, model_version_id, version_token, score, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (candidate_id, target) DO UPDATE SET "
            "score = excluded.score, model_version_id = excluded.model_version_id, "
            "version_token = excluded.version_token, updated_at = excluded.updated_at "
            "WHERE classifiers_candidatescore.version_token <= excluded.version_token",
            [
                (candidate_id, version.target, version.pk, token, score, connection.ops.adapt_datetimefield_value(now))
                for candidate_id, score in zip(ids.tolist(), scores.tolist(), strict=True)
            ],
        )
        return len(ids)


def _scoring_run_finish(run_id: int) -> None:
    """Close a run once (conditional UPDATE), then move candidates that pass every active threshold to
    ``scored`` and refresh annotation priorities with the new uncertainties."""
    with transaction.atomic():
        closed = ScoringRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.SUCCEEDED, finished_at=timezone.now()
        )
        if not closed:
            return
        moved = candidates_mark_scored()
        run = ScoringRun.objects.get(pk=run_id)
        run.timings = {**run.timings, "candidates_scored": moved}
        run.save(update_fields=["timings"])
        outbox_enqueue(task_name="annotation.queue_priorities_recompute", args=[])


def candidates_mark_scored() -> int:
    """Pooled candidates with no human label whose active scores pass every target's threshold become
    ``scored``; scored ones that no longer pass go back to ``pooled``. Returns how many became scored."""
    actives = selectors.active_versions()
    targets = list(_conf("TARGETS"))
    if any(target not in actives or actives[target].threshold is None for target in targets):
        return 0
    passes = " AND ".join(
        "EXISTS (SELECT 1 FROM classifiers_candidatescore s WHERE s.candidate_id = c.id AND s.target = %s "
        "AND s.version_token = %s AND s.score >= %s)"
        for _ in targets
    )
    params: list[Any] = []
    for target in targets:
        params += [target, actives[target].version_token, actives[target].threshold]
    unlabelled = (
        "NOT EXISTS (SELECT 1 FROM annotation_consolidatedlabel l WHERE l.candidate_id = c.id AND l.value IS NOT NULL)"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE knowledge_candidate SET status = 'pooled', updated_at = %s WHERE status = 'scored' "
            f"AND id IN (SELECT c.id FROM knowledge_candidate c WHERE c.status = 'scored' AND NOT ({passes}))",
            [now, *params],
        )
        cursor.execute(
            f"UPDATE knowledge_candidate SET status = 'scored', updated_at = %s WHERE status = 'pooled' "
            f"AND id IN (SELECT c.id FROM knowledge_candidate c WHERE c.status = 'pooled' AND {unlabelled} "
            f"AND {passes})",
            [now, *params],
        )
        return int(cursor.rowcount)


def classifier_uncertainty() -> dict[int, float]:
    """Per open queue item, the classifier's uncertainty (1 at p = 0.5, 0 at p = 0 or 1; the most uncertain
    target counts), for the annotation priority (active learning)."""
    actives = selectors.active_versions()
    if not actives:
        return {}
    marks = ", ".join(["%s"] * len(actives))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.candidate_id, max(1 - abs(2 * s.score - 1)) FROM classifiers_candidatescore s "
            "JOIN annotation_queueitem q ON q.candidate_id = s.candidate_id "
            f"WHERE q.state = 'open' AND s.target IN ({marks}) GROUP BY s.candidate_id",
            list(actives),
        )
        return {int(candidate_id): float(value) for candidate_id, value in cursor.fetchall()}


def scoring_sweep() -> int:
    """Enqueue again the chunks of running runs that are pending or whose claim went stale (a lost task)."""
    stale = timezone.now() - dt.timedelta(seconds=STALE_CLAIM_SECONDS)
    from django.db.models import Q

    chunks = list(
        ScoringChunk.objects.filter(run__status=RunStatus.RUNNING)
        .filter(Q(status=ScoringChunk.Status.PENDING) | Q(status=ScoringChunk.Status.RUNNING, claimed_at__lt=stale))
        .values_list("pk", "run__model_version__kind")
    )
    by_queue: dict[str, list[int]] = {}
    for chunk_id, kind in chunks:
        by_queue.setdefault(queue_for(kind), []).append(chunk_id)
    for queue, ids in by_queue.items():
        _enqueue_chunks(ids, queue)
    return len(chunks)
