"""COSMO-LM training runs: request, claim, execute (read the instruction data, split it by behaviour, write the
examples beside the artifact, train and evaluate in plain Python, register and maybe activate in one transaction).
See the package docstring."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.db import transaction

from classifiers.ml.data import Example
from classifiers.ml.lm.data import LMExample, examples_from_records, split_examples, write_examples
from classifiers.ml.lm.model import LMParams
from classifiers.services import examples_accept
from core.errors import ApplicationError
from core.events import event_emit
from core.model_paths import model_root
from core.outbox import run_enqueue
from core.runs import RunHandle, run_claim, run_execute
from curation.selectors import instruction_records_read
from filtering.rules import build_rules, evaluate
from filtering.rules.context import normalize
from filtering.services import filter_configuration_active
from filtering.types import CandidateText
from lm.models import LMTrainingRun, LMVersion
from lm.services.common import conf, lm_base_model, lm_queue
from lm.services.registry import lm_version_activate

SNAPSHOT = "examples.jsonl"
logger = logging.getLogger(__name__)


def lm_training_run_request(
    *,
    base_model: str = "",
    params: dict[str, Any] | None = None,
    held_out_share: float | None = None,
    seed: int = 0,
    filters: dict[str, Any] | None = None,
    activate: bool = True,
    requested_by: Any = None,
    enqueue: bool = True,
) -> LMTrainingRun:
    """Queue a COSMO-LM training on the ``gpu`` queue (``enqueue=False``: the caller executes it, as ``train_lm``
    does). Parameters are checked here, so a typo is refused at once rather than on the worker."""
    merged = {**conf("DEFAULT_PARAMS"), **(params or {})}
    try:
        LMParams.from_dict(merged)
    except (TypeError, ValueError) as error:
        raise ApplicationError(f"params: {error}") from None
    share = float(conf("HELD_OUT_SHARE") if held_out_share is None else held_out_share)
    if not 0.0 < share < 1.0:
        raise ApplicationError("held_out_share must be between 0 and 1 (exclusive).")
    with transaction.atomic():
        run = LMTrainingRun.objects.create(
            base_model=base_model,
            params=merged,
            data={"filters": filters or {}, "held_out_share": share, "seed": seed},
            activate=activate,
            requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        )
        if enqueue:
            from lm.tasks import lm_training_run_execute_task

            run_enqueue(task=lm_training_run_execute_task.s().set(queue=lm_queue()), run_id=run.pk)
    return run


def lm_training_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Take a queued training (or a running one whose claimant died: it is trained again from the start)."""
    return run_claim(LMTrainingRun, run_id=run_id, claimer=claimer, phase="", progress_done=0, progress_total=0)


def lm_training_run_execute(*, run_id: int, progress: Callable[[str, int, int], None] | None = None) -> LMTrainingRun:
    """Train, evaluate, register, maybe activate. A failure is recorded on the run (message and error) and not
    raised; ``progress(phase, done, total)`` mirrors what the run records (the command's progress bar)."""
    try:
        return run_execute(LMTrainingRun, run_id=run_id, work=lambda handle: _train(run_id, handle, progress))
    except Exception:
        return LMTrainingRun.objects.get(pk=run_id)


def artifact_folder(run_id: int) -> Path:
    return model_root() / "lm" / f"run-{run_id}"


def _digest(ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:16]


def data_snapshot(examples: Sequence[LMExample], *, share: float, seed: int, filters: dict[str, Any]) -> dict[str, Any]:
    """What a version saw: the accepted edges (its generation examples' candidates) and the labelled candidates
    (its judgements), as counts, id ranges and digests, and the split rule, so two versions can be compared."""
    edges = sorted({c for e in examples if e.task == "generate" for c in e.candidates})
    labelled = sorted({c for e in examples if e.task != "generate" for c in e.candidates})
    return {
        "filters": filters,
        "accepted_edges": {
            "count": len(edges),
            "min_candidate": edges[0] if edges else None,
            "max_candidate": edges[-1] if edges else None,
            "digest": _digest(edges),
        },
        "labelled_candidates": {"count": len(labelled), "digest": _digest(labelled)},
        "split": {
            "by": "behaviour (head key): sha1(seed:head_key) below the share is held out",
            "held_out_share": share,
            "seed": seed,
        },
        "examples_file": SNAPSHOT,
    }


class GenerationChecker:
    """Whether each generated tail passes the active filter configuration's rules and the active classifiers
    (every target with an active version, at its threshold). ``checked_by`` says which judged: a classifier that
    cannot be loaded is recorded there (the evaluation goes on with the rules) rather than failing the training.
    Runs models: workers only."""

    def __init__(self) -> None:
        self.checked_by: list[str] = []

    def __call__(self, pairs: Sequence[tuple[LMExample, list[str]]]) -> list[list[bool]]:
        configuration = filter_configuration_active()
        rules = build_rules(configuration.config)
        texts = [
            CandidateText(
                id=i,
                relation=example.relation,
                tail=tail,
                tail_norm=normalize(tail),
                head_key=example.group,
                head_kind="plain",
                head_text=example.input,
            )
            for i, (example, tails) in enumerate(pairs)
            for tail in tails
        ]
        kept = [not verdicts for _, verdicts in evaluate(rules, texts)]
        self.checked_by = [f"filter configuration v{configuration.version}"]
        try:
            classified, used = examples_accept(
                examples=[Example(head=t.head_text, relation=t.relation, tail=t.tail) for t in texts]
            )
            self.checked_by += used
        except Exception as error:  # an unreadable artifact: say so in the metrics, judge by the rules
            logger.warning("generation check without the classifiers: %s", error)
            classified = [True] * len(texts)
            self.checked_by.append(f"classifiers unavailable ({type(error).__name__})")
        flags = [k and c for k, c in zip(kept, classified, strict=True)]
        out: list[list[bool]] = []
        at = 0
        for _example, tails in pairs:
            out.append(flags[at : at + len(tails)])
            at += len(tails)
        return out


def _train(run_id: int, handle: RunHandle, progress: Callable[[str, int, int], None] | None) -> None:
    from classifiers.ml.lm.run import train_and_evaluate

    run = LMTrainingRun.objects.get(pk=run_id)
    started = time.perf_counter()
    params = LMParams.from_dict({**run.params, "max_tails": run.params.get("max_tails", conf("MAX_TAILS"))})
    share, seed, filters = float(run.data["held_out_share"]), int(run.data.get("seed", 0)), run.data.get("filters", {})
    handle.progress(phase="reading the instruction data")
    examples = examples_from_records(instruction_records_read(filters=filters), max_tails=params.max_tails)
    split = split_examples(examples, share=share, seed=seed)
    counts = split.counts()
    if not split.train or not any(e.label is not None for e in split.held_out):
        raise ApplicationError(
            f"Too little instruction data to train and evaluate: {counts}. Training needs accepted edges or "
            "consolidated plausible/typical labels on both sides of the split (more behaviours, or a larger "
            "held_out_share)."
        )
    folder = artifact_folder(run.pk)
    if folder.exists():
        shutil.rmtree(folder)  # a re-executed run replaces its own artifact
    folder.mkdir(parents=True)
    write_examples(folder / SNAPSHOT, split.train, split="train")
    write_examples(folder / SNAPSHOT, split.held_out, split="held_out")
    snapshot = data_snapshot(examples, share=share, seed=seed, filters=filters)
    handle.update(counts=counts)
    base = lm_base_model(run.base_model)
    last_phase = [""]

    def report(phase: str, done: int, total: int) -> None:
        changed = phase != last_phase[0]
        last_phase[0] = phase
        if total:  # training: examples done of the total (the bar keeps its last value through the other phases)
            handle.progress(phase=phase if changed else None, done=done, total=total)
        elif changed:
            handle.progress(phase=phase)
        if progress is not None:
            progress(phase, done, total)

    outcome = train_and_evaluate(
        base=base,
        split=split,
        params=params,
        folder=folder,
        checker=GenerationChecker(),
        progress=report,
        meta={"data_snapshot": snapshot, "training_run": run.pk},
    )
    promotion = promotion_decide(outcome.metrics, wanted=run.activate)
    with transaction.atomic():
        version = LMVersion.objects.create(
            base_model=base,
            params=params.as_dict(),
            data_snapshot=snapshot,
            metrics=outcome.metrics,
            base_metrics=outcome.base_metrics,
            training=outcome.training,
            artifact=str(folder.relative_to(model_root())),
            training_run=run,
            promotion=promotion,
        )
        if promotion["activate"]:
            lm_version_activate(version_id=version.pk, user=run.requested_by)
        timings = {**outcome.timings, "run_total_s": time.perf_counter() - started}
        handle.finish(
            message=_message(version, outcome.metrics, outcome.base_metrics, promotion),
            phase="done",
            counts=counts,
            timings=timings,
        )
        event_emit(
            name="lm.trained",
            payload={"lm_training_run": run.pk, "lm_version": version.pk, "activated": promotion["activate"]},
        )


def _auc(metrics: dict[str, Any]) -> float | None:
    value = (metrics.get("summary") or {}).get("roc_auc")
    return None if value is None else float(value)


def promotion_decide(metrics: dict[str, Any], *, wanted: bool) -> dict[str, Any]:
    """Activate (when the run asks for it) if no version is active, or if the held-out judgement ROC AUC is at
    least the active version's."""
    if not wanted:
        return {"activate": False, "reason": "the request asked not to activate"}
    active = LMVersion.objects.filter(is_active=True).first()
    new = _auc(metrics)
    if active is None:
        return {"activate": True, "reason": "first COSMO-LM version", "new_auc": new}
    old = _auc(active.metrics)
    better = new is not None and (old is None or new >= old - 1e-9)
    reason = f"judgement ROC AUC {_fmt(new)} vs. the active v{active.pk}'s {_fmt(old)}"
    return {
        "activate": better,
        "reason": reason + ("" if better else "; kept the active version"),
        "new_auc": new,
        "active_auc": old,
        "compared_with": active.pk,
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _message(version: LMVersion, metrics: dict[str, Any], base: dict[str, Any], promotion: dict[str, Any]) -> str:
    tuned, untuned = metrics.get("summary") or {}, base.get("summary") or {}
    return (
        f"v{version.pk}: judgement ROC AUC {_fmt(tuned.get('roc_auc'))} (base {_fmt(untuned.get('roc_auc'))}), "
        f"accuracy {_fmt(tuned.get('accuracy'))} (base {_fmt(untuned.get('accuracy'))}); {promotion['reason']}"
    )
