"""Training runs: requested by hand or by the label counter (Celery beat), executed by the shared runner.

A training cross-validates, fits, saves its artifact (a folder per run, replaced by a re-execution), then in one
transaction registers the ``ModelVersion``, activates it when the promotion rule says so (which starts scoring
the pool) and ends the run. So a worker killed anywhere before that transaction leaves nothing registered, and
the redelivered task (or the sweep, ``core.runs``) trains again from the start; after it, the run has ended and
a redelivery does nothing.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction

from classifiers import selectors
from classifiers.ml import metrics
from classifiers.ml.data import Batch
from classifiers.ml.models import make_model, unknown_params
from classifiers.models import ModelKind, ModelVersion, TrainingRun
from classifiers.services.common import EXPENSIVE_KINDS, conf, default_params, queue_for, with_caches
from classifiers.services.registry import model_version_activate
from core.errors import ApplicationError
from core.events import event_emit, handoff_enabled
from core.outbox import run_enqueue
from core.runs import RunHandle, run_claim, run_execute


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
    kind = kind or conf("DEFAULT_KIND")
    if target not in conf("TARGETS"):
        raise ApplicationError(f"Unknown target {target!r}; targets: {', '.join(conf('TARGETS'))}.")
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
                params={**default_params(kind), **_question(kind, target), **(params or {})},
                trigger=trigger,
                force=force,
                requested_by=requested_by,
                label_counter=selectors.label_counter(target),
            )
            run_enqueue(task=training_run_execute_task.s().set(queue=queue_for(kind)), run_id=run.pk)
    except IntegrityError:
        return None
    return run


def _question(kind: str, target: str) -> dict[str, Any]:
    """An LM judge is asked the target's own question (plausible or typical)."""
    return {"question": target} if kind == ModelKind.LM_JUDGE and target in ("plausible", "typical") else {}


def retraining_check() -> list[TrainingRun]:
    """The ``train_after_labels`` hand-off (Celery beat): request a training of every target that gained enough
    new labels since its last training request: ``MIN_LABELS`` before its first version, ``RETRAIN_EVERY``
    after. Debounced by its schedule: the answer path only counts labels, it never enqueues."""
    if not handoff_enabled("train_after_labels"):
        return []
    requested = []
    for target in conf("TARGETS"):
        last = TrainingRun.objects.filter(target=target).order_by("-created_at", "-id").first()
        needed = conf("RETRAIN_EVERY") if ModelVersion.objects.filter(target=target).exists() else conf("MIN_LABELS")
        if selectors.label_counter(target) - (last.label_counter if last else 0) < needed:
            continue
        run = training_run_request(target=target, trigger=TrainingRun.Trigger.LABELS)
        if run is not None:
            requested.append(run)
    return requested


def training_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Take a queued training; a running one only by a redelivery of its own task or once its heartbeat is
    stale (its worker died: the run is trained again from the start)."""
    return run_claim(TrainingRun, run_id=run_id, claimer=claimer, phase="", progress_done=0)


def dataset(target: str) -> tuple[list[int], Batch, np.ndarray]:
    labels = selectors.target_labels(target)
    examples = selectors.candidate_examples(sorted(labels))
    ids = sorted(examples)
    return ids, Batch([examples[i] for i in ids]), np.array([labels[i] for i in ids], dtype=np.int64)


def cross_validated(
    kind: str, params: dict[str, Any], batch: Batch, y: np.ndarray, folds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rows evaluated, their out-of-fold P(yes)). The linear kinds use every fold; the cross-encoder and the LM
    judge, whose fits are expensive, hold out fold 0 only."""
    evaluated_folds = [0] if kind in EXPENSIVE_KINDS else sorted(set(folds.tolist()))
    rows_out: list[np.ndarray] = []
    scores_out: list[np.ndarray] = []
    for fold in evaluated_folds:
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        if len(np.unique(y[train])) < 2 or not len(test):
            continue
        model = with_caches(make_model(kind, params))
        model.fit(batch.subset(train), y[train])
        rows_out.append(test)
        scores_out.append(model.predict_proba(batch.subset(test)))
    if not rows_out:
        raise ApplicationError("Too few labels of each class to evaluate a model.")
    return np.concatenate(rows_out), np.concatenate(scores_out)


def _artifact_folder(target: str, run_id: int) -> Path:
    return Path(conf("MODEL_ROOT")) / target / f"run-{run_id}"


def training_run_execute(*, run_id: int) -> TrainingRun:
    """Train, evaluate (cross-validated, same folds for the new and the active model), register, and activate
    when not worse. Failures are recorded on the run (not raised); nothing half-registered is left active."""
    try:
        return run_execute(TrainingRun, run_id=run_id, work=lambda handle: _train(run_id, handle))
    except Exception:
        return TrainingRun.objects.get(pk=run_id)


def _train(run_id: int, handle: RunHandle) -> None:
    run = TrainingRun.objects.get(pk=run_id)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    handle.progress(phase="reading labels")
    _ids, batch, y = dataset(run.target)
    positives = int(y.sum())
    if len(y) < conf("MIN_LABELS") or positives == 0 or positives == len(y):
        raise ApplicationError(
            f"{run.target}: {len(y)} labelled candidates ({positives} Yes); training needs at least "
            f"{conf('MIN_LABELS')} with both Yes and No."
        )
    timings["read_s"] = time.perf_counter() - started
    folds = metrics.stratified_folds(y, int(conf("FOLDS")), seed=run.pk)
    handle.progress(phase="cross-validating", total=len(y))
    rows, scores = cross_validated(run.kind, run.params, batch, y, folds)
    evaluation = metrics.evaluate(y[rows], scores, target_precision=float(conf("TARGET_PRECISION")))
    timings["evaluate_s"] = time.perf_counter() - started - timings["read_s"]
    handle.progress(phase="fitting")
    model = with_caches(make_model(run.kind, run.params))
    fit_started = time.perf_counter()
    model.fit(batch, y)
    timings["fit_s"] = time.perf_counter() - fit_started
    folder = _artifact_folder(run.target, run.pk)
    if folder.exists():
        shutil.rmtree(folder)  # a re-executed run replaces its own artifact
    model.save(folder)
    handle.progress(phase="comparing with the active version")
    promotion = promotion_decide(
        target=run.target, new_auc=evaluation.get("roc_auc"), batch=batch, y=y, folds=folds, force=run.force
    )
    automatic = run.trigger == TrainingRun.Trigger.LABELS
    if promotion["activate"] and automatic and not handoff_enabled("activate_after_training"):
        promotion = {**promotion, "activate": False, "reason": promotion["reason"] + "; waits for an admin to activate"}
    with transaction.atomic():
        version = ModelVersion.objects.create(
            target=run.target,
            kind=run.kind,
            params=model.params(),
            label_count=len(y),
            metrics=evaluation,
            threshold=evaluation["threshold"],
            artifact=str(folder.relative_to(Path(conf("MODEL_ROOT")))),
            training_run=run,
            promotion=promotion,
        )
        if promotion["activate"]:
            model_version_activate(version_id=version.pk, user=run.requested_by, force=run.force)
        timings["total_s"] = time.perf_counter() - started
        handle.finish(
            message=promotion["reason"],
            phase="done",
            label_count=len(y),
            progress_done=len(y),
            progress_total=len(y),
            timings=timings,
        )
        event_emit(
            name="training.succeeded",
            payload={"training_run": run.pk, "model_version": version.pk, "activated": bool(promotion["activate"])},
        )


def promotion_decide(
    *, target: str, new_auc: float | None, batch: Batch, y: np.ndarray, folds: np.ndarray, force: bool
) -> dict[str, Any]:
    """Activate when there is no active version, when forced, or when the new version's cross-validated ROC
    AUC is at least the active version's, refitted with its own kind and parameters on the same folds."""
    active = ModelVersion.objects.filter(target=target, is_active=True).first()
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
