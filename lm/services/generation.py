"""COSMO-LM producing knowledge: generation runs on a version (the ``cosmo_lm`` backend), and tails with their
P(yes) for a worker (the serving cache on a miss)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from classifiers.ml.lm.data import LMExample
from core.errors import Conflict
from core.model_paths import model_root
from lm.models import LMVersion


def lm_generation_run_create(
    *,
    relations: list[str],
    pair_ids: list[int],
    version_id: int | None = None,
    sampling: dict[str, Any] | None = None,
    actor: Any = None,
    enqueue: bool = True,
) -> Any:
    """A generation run whose backend is a COSMO-LM version (the active one by default): its answers go through
    the same parsing, ingest and filters as any LLM's (``generation.services.generation_run_create``)."""
    from generation.services import generation_run_create

    versions = LMVersion.objects.all()
    version = versions.filter(pk=version_id).first() if version_id else versions.filter(is_active=True).first()
    if version is None:
        raise Conflict("No COSMO-LM version is active: train one (train_lm) or name a version.")
    return generation_run_create(
        backend="cosmo_lm",
        relations=relations,
        pair_ids=pair_ids,
        selection={"pairs": len(pair_ids), "lm_version": version.pk},
        model_name=version.artifact,
        sampling=sampling,
        actor=actor,
        enqueue=enqueue,
    )


_LOADED: dict[tuple[int, str], tuple[Any, Any]] = {}


def lm_loaded(version: LMVersion) -> tuple[Any, Any]:
    """(model, tokenizer) of a version, loaded once per worker process (the latest one kept)."""
    from classifiers.ml.lm.model import load_artifact

    key = (version.pk, version.artifact)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = load_artifact(model_root() / version.artifact)
    return _LOADED[key]


def lm_knowledge_generate(
    *, items: Sequence[tuple[str, str]], version: LMVersion | None = None, max_new_tokens: int = 48
) -> tuple[int, list[list[dict[str, Any]]]]:
    """For each (behaviour sentence, relation): the tails the active COSMO-LM (or ``version``) generates, each with
    its P(yes) of plausibility and of typicality. Returns (the version's id, the tails per item). For workers (the
    serving cache's generation on a miss): it runs the model; raises ``Conflict`` when no version is active."""
    from classifiers.ml.lm.data import JUDGEMENT_INSTRUCTIONS, generation_instruction, judgement_input
    from classifiers.ml.lm.model import generate_tails, judge_proba

    version = version or LMVersion.objects.filter(is_active=True).first()
    if version is None:
        raise Conflict("No COSMO-LM version is active.")
    model, tokenizer = lm_loaded(version)
    prompts = [
        LMExample(task="generate", instruction=generation_instruction(relation), input=behaviour, output="")
        for behaviour, relation in items
    ]
    generated = generate_tails(model, tokenizer, prompts, max_new_tokens=max_new_tokens)
    judgements = [
        LMExample(
            task=task,
            instruction=JUDGEMENT_INSTRUCTIONS[task],
            input=judgement_input(behaviour, relation, tail),
            output="yes",
        )
        for (behaviour, relation), tails in zip(items, generated, strict=True)
        for tail in tails
        for task in ("plausibility", "typicality")
    ]
    p = iter(judge_proba(model, tokenizer, judgements))
    out = [[{"tail": tail, "plausible": next(p), "typical": next(p)} for tail in tails] for tails in generated]
    return version.pk, out
