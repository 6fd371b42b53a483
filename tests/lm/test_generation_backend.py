"""COSMO-LM as a generation backend: a version trained on the tiny synthetic graph, run by ``CosmoLMBackend``,
answers with tails that ``parse_explanations`` reads; a generation run on the active version sends them through
the normal ingest (dedup, provenance) like any LLM's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from core.errors import ApplicationError
from core.model_paths import model_root
from generation.llm.backends import CosmoLMBackend, Sampling, cosmo_prompt
from generation.llm.parsing import parse_explanations
from generation.models import GenerationTask
from lm.models import LMVersion
from tests.classifiers.lm_tiny import GOOD
from tests.lm.conftest import TINY_PARAMS

pytestmark = pytest.mark.django_db


def test_the_cosmo_lm_backend_returns_parsed_tails_and_a_generation_run_ingests_them(
    tiny_base: str, curated_graph: Any
) -> None:
    from lm.services import lm_generation_run_create

    with pytest.raises(ApplicationError):
        lm_generation_run_create(relations=["capable_of"], pair_ids=[curated_graph["pairs"][0].pk], enqueue=False)
    params = {**TINY_PARAMS, "generation_examples": 0}
    call_command("train_lm", "--base", tiny_base, "--params", json.dumps(params), "--no-progress")
    version = LMVersion.objects.get(is_active=True)
    backend = CosmoLMBackend(artifact=str(model_root() / version.artifact), device="cpu")
    prompts = [
        cosmo_prompt(behaviour='A shopper searched for "winter boots 7" and bought "snow boot".', relation=relation)
        for relation in ("used_for_function", "capable_of")
    ]
    completions = backend.generate(prompts, Sampling(temperature=0.0, max_tokens=16))
    parsed = [parse_explanations(c.text).explanations for c in completions]
    assert all(c.error is None and c.text.startswith("1. ") for c in completions)
    assert parsed[0] and set(parsed[0]) <= set(GOOD) and set(parsed[1]) <= set(GOOD)  # learnt per relation
    assert parsed[0] != parsed[1]

    from generation import services as generation_services

    pairs = [pair.pk for pair in curated_graph["pairs"][:3]]
    run = lm_generation_run_create(
        relations=["used_for_function", "capable_of"], pair_ids=pairs, sampling={"temperature": 0.0}, enqueue=False
    )
    assert run.backend == "cosmo_lm" and run.model_name == version.artifact
    assert generation_services.generation_run_claim(run_id=run.pk)
    run = generation_services.generation_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.message
    assert run.counts["explanations"] >= 6 and run.counts["failed_prompts"] == 0
    explained = {tail for task in GenerationTask.objects.filter(run=run) for tail in task.explanations}
    assert explained and explained <= set(GOOD)
    from lm.services import lm_knowledge_generate

    used, knowledge = lm_knowledge_generate(
        items=[('A shopper searched for "snow shoes 99" and bought "fur boot".', "capable_of")], max_new_tokens=16
    )
    assert used == version.pk and knowledge[0]
    assert all(k["tail"] in GOOD and k["plausible"] > 0.5 and k["typical"] > 0.5 for k in knowledge[0])
    with pytest.raises(ApplicationError):  # a folder outside the model root is no COSMO-LM artifact
        generation_services.generation_run_create(
            backend="cosmo_lm", relations=["capable_of"], pair_ids=pairs, model_name="../../etc", enqueue=False
        )
