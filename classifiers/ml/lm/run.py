"""One COSMO-LM training from examples to artifact, with its evaluation before and after: what ``train_lm``, the
Celery task and the standalone command line (``python -m classifiers.ml.lm``) all call.

Steps (each reported through ``progress(phase, done, total)``): load the base; evaluate it untuned on the held-out
split (the comparison every version stores); add LoRA adapters (or not: full fine-tuning); train on every task at
once; evaluate the tuned model the same way; save the artifact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.ml.lm.data import JUDGEMENT_TASKS, LMExample, Split
from classifiers.ml.lm.evaluate import Checker, generation_metrics, judgement_metrics, summary
from classifiers.ml.lm.model import (
    LMParams,
    add_lora,
    generate_tails,
    judge_proba,
    load_base,
    pick_device,
    save_artifact,
    train,
)

PhaseProgress = Callable[[str, int, int], None]


def evaluate(
    model: Any, tokenizer: Any, held_out: Sequence[LMExample], params: LMParams, *, checker: Checker | None = None
) -> dict[str, Any]:
    """Judgement and generation metrics of a model on held-out examples (generation on the first
    ``params.generation_examples`` generation examples, greedy)."""
    judgements = [e for e in held_out if e.task in JUDGEMENT_TASKS]
    generations = [e for e in held_out if e.task == "generate"][: params.generation_examples]
    started = time.perf_counter()
    p = judge_proba(model, tokenizer, judgements, batch_size=params.eval_batch_size, max_length=params.max_length)
    metrics: dict[str, Any] = {"judgement": judgement_metrics(judgements, p) if judgements else {}}
    judged = time.perf_counter()
    generated = generate_tails(
        model,
        tokenizer,
        generations,
        max_new_tokens=params.generation_max_new_tokens,
        batch_size=params.eval_batch_size,
    )
    accepted = checker(list(zip(generations, generated, strict=True))) if checker and generations else None
    metrics["generation"] = generation_metrics(generations, generated, accepted) if generations else {}
    if accepted is not None:
        metrics["generation"]["checked_by"] = list(getattr(checker, "checked_by", []))
    metrics["examples"] = [
        {"input": e.input, "relation": e.relation, "generated": tails[:5], "curated": list(e.tails[:5])}
        for e, tails in list(zip(generations, generated, strict=True))[:5]
    ]
    metrics["seconds"] = {"judge": judged - started, "generate": time.perf_counter() - judged}
    metrics["summary"] = summary(metrics)
    return metrics


@dataclass
class Outcome:
    base_metrics: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any]
    timings: dict[str, float]


def train_and_evaluate(
    *,
    base: str,
    split: Split,
    params: LMParams,
    folder: Path,
    checker: Checker | None = None,
    progress: PhaseProgress | None = None,
    device: str | None = None,
    evaluate_base: bool = True,
    meta: dict[str, Any] | None = None,
) -> Outcome:
    """Train on ``split.train``, evaluate on ``split.held_out`` before and after, save to ``folder``."""
    report = progress or (lambda phase, done, total: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    report("loading the base model", 0, 0)
    model, tokenizer = load_base(base, device=pick_device(device), lora=params.lora)
    timings["load_s"] = time.perf_counter() - started
    base_metrics: dict[str, Any] = {}
    if evaluate_base and split.held_out:
        report("evaluating the untuned base", 0, 0)
        mark = time.perf_counter()
        base_metrics = evaluate(model, tokenizer, split.held_out, params, checker=checker)
        timings["evaluate_base_s"] = time.perf_counter() - mark
    if params.lora:
        model = add_lora(model, params)
    report("training", 0, 0)
    result = train(model, tokenizer, split.train, params, progress=lambda done, total: report("training", done, total))
    timings["train_s"] = result.seconds
    metrics: dict[str, Any] = {}
    if split.held_out:
        report("evaluating", 0, 0)
        mark = time.perf_counter()
        metrics = evaluate(model, tokenizer, split.held_out, params, checker=checker)
        timings["evaluate_s"] = time.perf_counter() - mark
    report("saving", 0, 0)
    training = {
        "steps": result.steps,
        "examples": result.examples,
        "examples_per_second": result.examples_per_second,
        "final_loss": result.final_loss,
        "losses": [round(x, 4) for x in result.losses[:: max(1, len(result.losses) // 100)]],
        "device": str(next(model.parameters()).device),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    save_artifact(
        folder,
        model,
        tokenizer,
        base=base,
        params=params,
        counts=split.counts(),
        metrics=metrics,
        base_metrics=base_metrics,
        training=training,
        **(meta or {}),
    )
    timings["total_s"] = time.perf_counter() - started
    return Outcome(base_metrics=base_metrics, metrics=metrics, training=training, timings=timings)
