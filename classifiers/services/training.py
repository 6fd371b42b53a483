"""Training runs: requested by hand or by the label counter (Celery beat), executed by the shared runner.

A training compares its kinds (the loop: every enabled kind, ``enabled_kinds``; by hand: the one asked for) and
the active version's kind on the **same grouped folds** (no behaviour pair on both sides), picks one by the
promotion rule (``promotion_decide``), fits it on every label, saves its artifact (a folder per run, replaced by
a re-execution), then in one transaction registers the ``ModelVersion``, activates it when the rule says so
(which starts scoring the pool) and ends the run. So a worker killed anywhere before that transaction leaves
nothing registered, and the redelivered task (or the sweep, ``core.runs``) trains again from the start; after
it, the run has ended and a redelivery does nothing.
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
from classifiers.ml.models import make_model, mean_probabilities, unknown_params
from classifiers.models import ModelKind, ModelVersion, TrainingRun
from classifiers.services.common import (
    EXPENSIVE_KINDS,
    conf,
    default_kind,
    default_params,
    enabled_kinds,
    queue_for,
    with_caches,
)
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
    """Queue a training of ``target``; None when one is already queued or running (single-flight).

    With ``kind`` (or ``params``, which belong to one kind: the default one), that kind alone is trained and
    compared with the active version; without either, every enabled kind is compared on the same folds."""
    if target not in conf("TARGETS"):
        raise ApplicationError(f"Unknown target {target!r}; targets: {', '.join(conf('TARGETS'))}.")
    if kind is None and params:
        kind = default_kind()
    kinds = [kind] if kind else enabled_kinds()
    for name in kinds:
        if name not in ModelKind.values:
            raise ApplicationError(f"Unknown model kind {name!r}; kinds: {', '.join(ModelKind.values)}.")
    primary = kind or (default_kind() if default_kind() in kinds else kinds[0])
    unknown = unknown_params(primary, params or {})
    if unknown:
        raise ApplicationError(f"{primary} takes no parameter {', '.join(map(repr, unknown))}.")
    expensive = [name for name in kinds if name in EXPENSIVE_KINDS]
    queue = queue_for(expensive[0] if expensive else primary)
    from classifiers.tasks import training_run_execute_task

    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                target=target,
                kind=primary,
                kinds=kinds,
                params={**default_params(primary), **_question(primary, target), **(params or {})},
                trigger=trigger,
                force=force,
                requested_by=requested_by,
                label_counter=selectors.label_counter(target),
            )
            run_enqueue(task=training_run_execute_task.s().set(queue=queue), run_id=run.pk)
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


def dataset_groups(ids: list[int]) -> np.ndarray:
    """The evaluation group (behaviour pair, or head) of each labelled candidate, in ``ids`` order."""
    groups = selectors.candidate_groups(ids)
    return np.array([groups.get(i, f"id:{i}") for i in ids], dtype=object)


def evaluation_folds(y: np.ndarray, groups: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    """``FOLDS`` folds grouped by behaviour pair (fewer when there are fewer pairs), and what they are grouped
    by. Labels from a single pair cannot be split by pair: then the folds are stratified row by row, and the
    version's ``metrics.folds`` says so (its estimate is optimistic)."""
    try:
        return metrics.grouped_folds(y, groups, int(conf("FOLDS")), seed=seed), "behaviour pair"
    except ValueError:
        return metrics.stratified_folds(y, int(conf("FOLDS")), seed=seed), "row (every label is of one behaviour pair)"


def cross_validated(
    kind: str, params: dict[str, Any], batch: Batch, y: np.ndarray, folds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rows evaluated, their out-of-fold P(yes)), every kind on every fold (the cross-encoder and the LM judge
    too: a comparison on one fold against five would not be fair). A fold whose training part has one class only
    is skipped, for every kind alike."""
    rows_out: list[np.ndarray] = []
    scores_out: list[np.ndarray] = []
    for fold in sorted(set(folds.tolist())):
        train, test = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
        if len(np.unique(y[train])) < 2 or not len(test):
            continue
        model = with_caches(make_model(kind, params))
        model.fit(batch.subset(train), y[train])
        rows_out.append(test)
        scores_out.append(model.predict_proba(batch.subset(test)))
    if not rows_out:
        raise ApplicationError("Too few labels of each class to evaluate a model.")
    rows = np.concatenate(rows_out)
    order = np.argsort(rows, kind="stable")
    return rows[order], np.concatenate(scores_out)[order]


def _ensemble_from_members(
    entry: dict[str, Any], compared: dict[str, dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray] | None:
    """``mean_lr``'s out-of-fold scores from its members' when both were cross-validated on these folds with its
    members' recipes: fitting the ensemble on a fold is fitting each member on it (deterministic fits), so the
    mean of their scores is exactly its own, and the comparison costs nothing more. None otherwise."""
    if entry["kind"] != ModelKind.MEAN_LR:
        return None
    found: list[dict[str, Any]] = []
    for member in make_model(entry["kind"], entry["params"]).members:  # type: ignore[attr-defined]
        recipe = (member.kind, _without_fitted(member.params()))
        match = next((c for c in compared.values() if _procedure(c["kind"], c["params"]) == recipe), None)
        if match is None or (found and not np.array_equal(match["rows"], found[0]["rows"])):
            return None
        found.append(match)
    return found[0]["rows"], mean_probabilities([member["scores"] for member in found])


def _artifact_folder(target: str, run_id: int) -> Path:
    return Path(conf("MODEL_ROOT")) / target / f"run-{run_id}"


def training_run_execute(*, run_id: int) -> TrainingRun:
    """Train, evaluate (cross-validated, same folds for the new and the active model), register, and activate
    when not worse. Failures are recorded on the run (not raised); nothing half-registered is left active."""
    try:
        return run_execute(TrainingRun, run_id=run_id, work=lambda handle: _train(run_id, handle))
    except Exception:
        return TrainingRun.objects.get(pk=run_id)


def _without_fitted(params: dict[str, Any]) -> dict[str, Any]:
    """A version's parameters without what ``fit`` filled in from the data (``relations``)."""
    return {name: value for name, value in params.items() if name != "relations"}


def _procedure(kind: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What a training does, to compare two versions' recipes: the kind and its full parameters (defaults
    filled in), without what ``fit`` fills from the data."""
    return kind, _without_fitted(make_model(kind, params).params())


def _train(run_id: int, handle: RunHandle) -> None:
    run = TrainingRun.objects.get(pk=run_id)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    handle.progress(phase="reading labels")
    ids, batch, y = dataset(run.target)
    positives = int(y.sum())
    if len(y) < conf("MIN_LABELS") or positives == 0 or positives == len(y):
        raise ApplicationError(
            f"{run.target}: {len(y)} labelled candidates ({positives} Yes); training needs at least "
            f"{conf('MIN_LABELS')} with both Yes and No."
        )
    groups = dataset_groups(ids)
    timings["read_s"] = time.perf_counter() - started
    folds, grouped_by = evaluation_folds(y, groups, seed=run.pk)
    entries = [
        {"name": kind, "kind": kind, "params": run.params if kind == run.kind else default_params(kind)}
        for kind in (run.kinds or [run.kind])
    ]
    active = ModelVersion.objects.filter(target=run.target, is_active=True).first()
    if active is not None and (len(entries) > 1 or run.trigger == TrainingRun.Trigger.LABELS):
        # the loop also refits the active recipe when no enabled kind has it (an older scheme, other parameters):
        # kept unless something beats it, it must still learn from the new labels
        recipe = _procedure(active.kind, _without_fitted(active.params))
        if all(_procedure(e["kind"], e["params"]) != recipe for e in entries):
            entries.append({"name": f"{active.kind} (active v{active.pk})", "kind": active.kind, "params": recipe[1]})
    handle.progress(phase="cross-validating", total=len(y))
    compared: dict[str, dict[str, Any]] = {}
    for entry in entries:
        tick = time.perf_counter()
        try:
            members = _ensemble_from_members(entry, compared)
            rows, scores = members or cross_validated(entry["kind"], entry["params"], batch, y, folds)
        except Exception:
            if entry["name"] == entry["kind"]:
                raise
            continue  # the active recipe cannot run here any more (a missing package): nothing to keep
        compared[entry["name"]] = {**entry, "rows": rows, "scores": scores}
        timings[f"evaluate_{entry['kind']}_s"] = timings.get(f"evaluate_{entry['kind']}_s", 0.0) + (
            time.perf_counter() - tick
        )
    handle.progress(phase="comparing on the same folds")
    promotion = promotion_decide(
        target=run.target,
        compared=list(compared.values()),
        batch=batch,
        y=y,
        groups=groups,
        folds=folds,
        force=run.force,
    )
    chosen = compared[promotion["chosen"]]
    evaluation = metrics.evaluate(
        y[chosen["rows"]],
        chosen["scores"],
        target_precision=float(conf("TARGET_PRECISION")),
        groups=groups[chosen["rows"]],
        seed=run.pk,
    )
    evaluation["comparison"] = promotion["comparison"]
    evaluation["folds"] = {
        "count": len(set(folds.tolist())),
        "grouped_by": grouped_by,
        "groups": len(set(groups.tolist())),
    }
    handle.progress(phase="fitting")
    model = with_caches(make_model(chosen["kind"], chosen["params"]))
    fit_started = time.perf_counter()
    model.fit(batch, y)
    timings["fit_s"] = time.perf_counter() - fit_started
    folder = _artifact_folder(run.target, run.pk)
    if folder.exists():
        shutil.rmtree(folder)  # a re-executed run replaces its own artifact
    model.save(folder)
    automatic = run.trigger == TrainingRun.Trigger.LABELS
    if promotion["activate"] and automatic and not handoff_enabled("activate_after_training"):
        promotion = {**promotion, "activate": False, "reason": promotion["reason"] + "; waits for an admin to activate"}
    message = promotion["reason"] + (f"; {evaluation['threshold_note']}" if evaluation["threshold_note"] else "")
    with transaction.atomic():
        version = ModelVersion.objects.create(
            target=run.target,
            kind=chosen["kind"],
            params=model.params(),
            label_count=len(y),
            metrics=evaluation,
            threshold=evaluation["threshold"],
            artifact=str(folder.relative_to(Path(conf("MODEL_ROOT")))),
            training_run=run,
            promotion=promotion,
        )
        if chosen["kind"] != run.kind:
            TrainingRun.objects.filter(pk=run.pk).update(kind=chosen["kind"])
        if promotion["activate"]:
            model_version_activate(version_id=version.pk, user=run.requested_by, force=run.force)
        timings["total_s"] = time.perf_counter() - started
        handle.finish(
            message=message,
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
    *,
    target: str,
    compared: list[dict[str, Any]],
    batch: Batch,
    y: np.ndarray,
    groups: np.ndarray,
    folds: np.ndarray,
    force: bool,
) -> dict[str, Any]:
    """Which of the ``compared`` recipes (each ``{"name", "kind", "params", "rows", "scores"}``: out-of-fold
    scores on ``folds``; ``name`` defaults to the kind) to register, and whether to activate it. Every AUC
    carries a 95% interval from a bootstrap over behaviour pairs, every difference a paired one (both models on
    each resample).

    The rule: the **incumbent** is the active version's recipe (kind and parameters), refitted on the same
    folds. A challenger replaces it only with a real improvement: the lower bound of its AUC difference with
    the incumbent above 0 (the best such challenger wins). Otherwise the incumbent's recipe is kept and, when
    it was among the compared kinds, refitted on all labels and activated (the same recipe on more labels).
    Without an active version, the kind with the best AUC is activated (there is nothing to protect). A single
    challenger that is not significantly better is registered but not activated, unless ``force``."""
    resamples = int(conf("PROMOTION_RESAMPLES"))
    seed = len(y)
    rows = compared[0]["rows"]
    for entry in compared[1:]:
        rows = np.intersect1d(rows, entry["rows"])

    def on_rows(entry: dict[str, Any]) -> np.ndarray:
        positions = np.searchsorted(entry["rows"], rows)
        return np.asarray(entry["scores"])[positions]

    names = [entry.get("name", entry["kind"]) for entry in compared]
    scores = {name: on_rows(entry) for name, entry in zip(names, compared, strict=True)}
    y_rows, groups_rows = y[rows], groups[rows]
    table = []
    for name, entry in zip(names, compared, strict=True):
        low, high = metrics.auc_interval(y_rows, scores[name], groups_rows, resamples=resamples, seed=seed)
        auc = metrics.roc_auc(y_rows, scores[name])
        table.append(
            {"name": name, "kind": entry["kind"], "params": entry["params"], "roc_auc": auc, "interval": [low, high]}
        )
    best = max(table, key=lambda row: row["roc_auc"] if row["roc_auc"] is not None else -1.0)
    active = ModelVersion.objects.filter(target=target, is_active=True).first()
    base = {"comparison": table, "rows": len(rows), "folds": len(set(folds[rows].tolist()))}
    if active is None:
        listed = ", ".join(f"{row['name']} {_fmt(row['roc_auc'])}" for row in table)
        return {
            **base,
            "activate": True,
            "chosen": best["name"],
            "new_auc": best["roc_auc"],
            "reason": f"first version of this target: {best['name']} had the best ROC AUC of "
            f"{listed} on the same grouped folds",
        }
    incumbent_recipe = _procedure(active.kind, _without_fitted(active.params))
    incumbent_kind = next(
        (
            name
            for name, e in zip(names, compared, strict=True)
            if _procedure(e["kind"], e["params"]) == incumbent_recipe
        ),
        None,
    )
    if incumbent_kind is not None:
        incumbent_scores = scores[incumbent_kind]
    else:
        try:
            active_rows, active_scores = cross_validated(active.kind, _without_fitted(active.params), batch, y, folds)
            positions = np.searchsorted(active_rows, rows)
            incumbent_scores = active_scores[np.clip(positions, 0, len(active_rows) - 1)]
            if not np.array_equal(active_rows[np.clip(positions, 0, len(active_rows) - 1)], rows):
                raise ApplicationError("the active version's folds differ")
        except Exception as exc:  # its kind cannot run here any more (a missing package): nothing to defend
            return {
                **base,
                "activate": True,
                "chosen": best["name"],
                "new_auc": best["roc_auc"],
                "compared_with": active.pk,
                "reason": f"{best['name']} had the best ROC AUC {_fmt(best['roc_auc'])}; the active v{active.pk} "
                f"({active.kind}) could not be re-evaluated here ({exc})",
            }
    active_auc = metrics.roc_auc(y_rows, incumbent_scores)
    for row in table:
        row.update(
            metrics.auc_difference(
                y_rows, scores[row["name"]], incumbent_scores, groups_rows, resamples=resamples, seed=seed
            )
        )
    significant = [
        row
        for row in table
        if row["name"] != incumbent_kind and row["low"] is not None and row["low"] > 0 and row["difference"]
    ]
    details = {**base, "active_auc": active_auc, "compared_with": active.pk, "incumbent": active.kind}
    if significant:
        winner = max(significant, key=lambda row: row["difference"])
        return {
            **details,
            "activate": True,
            "chosen": winner["name"],
            "new_auc": winner["roc_auc"],
            "reason": f"{winner['name']} ROC AUC {_fmt(winner['roc_auc'])} beats the active v{active.pk}'s "
            f"{active.kind} {_fmt(active_auc)} on the same folds by {_fmt(winner['difference'])} "
            f"(95% interval {_fmt(winner['low'])} to {_fmt(winner['high'])})",
        }
    if incumbent_kind is not None:
        return {
            **details,
            "activate": True,
            "chosen": incumbent_kind,
            "new_auc": active_auc,
            "reason": f"the active recipe ({incumbent_kind}) retrained on {len(y)} labels: ROC AUC "
            f"{_fmt(active_auc)} on the same folds; no other kind improved on it significantly"
            + "".join(
                f"; {row['name']} {_fmt(row['difference'])} (95% interval {_fmt(row['low'])} to {_fmt(row['high'])})"
                for row in table
                if row["name"] != incumbent_kind
            ),
        }
    challenger = best
    return {
        **details,
        "activate": force,
        "forced": force,
        "chosen": challenger["name"],
        "new_auc": challenger["roc_auc"],
        "reason": f"ROC AUC {_fmt(challenger['roc_auc'])} vs. the active v{active.pk}'s {_fmt(active_auc)} on the "
        f"same folds, difference {_fmt(challenger.get('difference'))} (95% interval {_fmt(challenger.get('low'))} "
        f"to {_fmt(challenger.get('high'))}): not a significant improvement; kept the active version"
        + ("; activated by force" if force else ""),
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
