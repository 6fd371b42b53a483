"""Generation runs end to end against a fake OpenAI-compatible server: prompts, parsing, ingest with provenance,
filters, counts of what failed, resumption after an interruption, the command, versioned prompts."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from core.errors import ApplicationError
from generation import services
from generation.llm.backends import OpenAICompatibleBackend, Sampling
from generation.models import GenerationRun, GenerationTask, PromptTemplate
from knowledge.models import BehaviourPair, Candidate, IngestRun
from tests.conftest import search_buy
from tests.generation.fake_openai import FakeOpenAI

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(settings: Any) -> Any:
    with FakeOpenAI() as fake:
        settings.PLAUSI_GENERATION = {
            **settings.PLAUSI_GENERATION,
            "OPENAI_BASE_URL": fake.url,
            "MAX_RETRIES": 1,
            "PROMPTS_PER_STEP": 4,
        }
        yield fake


@pytest.fixture
def pairs(ingest: Any, write_lines: Any) -> Any:
    """Behaviour pairs made the way production makes them: by ingesting observed behaviour."""

    def make(*queries: str) -> list[int]:
        records = [
            search_buy(
                "seed tail",
                query=q,
                count=10 - i,
                product={"id": f"B{i}", "title": f"Ankle boot {i}", "category": "Shoes"},
            )
            for i, q in enumerate(queries)
        ]
        ingest(write_lines(records, name=f"pairs-{len(queries)}.jsonl"))
        by_query = dict(BehaviourPair.objects.values_list("query__text", "pk"))
        return [by_query[q] for q in queries]

    return make


def test_a_run_prompts_parses_ingests_with_provenance_filters_and_counts_failures(server: Any, pairs: Any) -> None:
    ids = pairs("winter boots", "BAD400 boots", "GARBAGE boots")
    run = services.generation_run_create(
        backend="openai",
        relations=["capable_of", "used_for_function"],
        pair_ids=ids,
        model_name="fake-llm",
        enqueue=False,
        sampling={"temperature": 0.2},
    )
    assert services.generation_run_claim(run_id=run.pk)
    run = services.generation_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.message
    assert run.counts["prompts"] == 6 and run.counts["failed_prompts"] == 2  # BAD400 x 2 relations: not retried
    assert run.counts["answers_without_explanations"] == 2  # GARBAGE: no list
    assert run.counts["explanations"] == 2 * 3  # 3 distinct items per good answer (the duplicate dropped)
    assert run.counts["dropped"]["duplicate"] == 2 and run.counts["dropped"]["no list in the answer"] == 2
    assert run.ingest_run is not None and run.ingest_run.source == IngestRun.Source.GENERATION
    assert run.ingest_run.status == "succeeded", (run.ingest_run.message, run.ingest_run.errors)
    created = Candidate.objects.filter(ingest_run=run.ingest_run)
    assert created.count() == 6  # 3 tails x 2 relations for the one pair that got a list
    template = PromptTemplate.objects.get(relation__slug="capable_of", head_kind="search_buy", is_active=True)
    first = created.get(tail="Grip icy sidewalks", relation__slug="capable_of")
    assert first.generator == "fake-llm" and first.prompt_id == template.prompt_id
    assert first.pair_id == ids[0]
    assert not created.filter(status="ingested").exists()  # the filters ran over them
    assert run.sampling["temperature"] == 0.2  # the sampling parameters stay with the run of the candidates


def test_an_interrupted_run_resumes_with_the_prompts_it_had_not_done(server: Any, pairs: Any) -> None:
    class Interrupted(Exception):
        pass

    class DiesAfterOneStep(OpenAICompatibleBackend):
        calls = 0

        def generate(self, prompts: Any, sampling: Sampling) -> Any:
            DiesAfterOneStep.calls += 1
            if DiesAfterOneStep.calls > 1:
                raise Interrupted("the worker was killed")
            return super().generate(prompts, sampling)

    ids = pairs(*(f"query {i}" for i in range(5)))
    run = services.generation_run_create(
        backend="openai", relations=["capable_of"], pair_ids=ids, model_name="fake-llm", enqueue=False
    )
    services.generation_run_claim(run_id=run.pk)
    with pytest.raises(Interrupted):
        services.generation_run_execute(run_id=run.pk, backend=DiesAfterOneStep(base_url=server.url, model="fake"))
    assert GenerationTask.objects.filter(run=run, status="done").count() == 4  # one step of 4 prompts
    asked_before = sum(server.requests.values())
    assert GenerationRun.objects.get(pk=run.pk).status == "failed"
    assert services.generation_run_claim(run_id=run.pk)  # the failed run is resumed...
    run = services.generation_run_execute(run_id=run.pk)
    assert run.status == "succeeded"
    assert sum(server.requests.values()) - asked_before == 1  # ...and only the missing prompt was asked
    generated = Candidate.objects.filter(ingest_run=run.ingest_run)
    assert generated.count() == 5 * 3  # 3 tails for each of the 5 pairs, each prompt's answer ingested once


def test_the_command_selects_pairs_and_reports(server: Any, pairs: Any) -> None:
    pairs("a", "b", "c")
    out = io.StringIO()
    call_command("generate", "--pairs", "2", "--relations", "capable_of", "--model", "fake-llm", stdout=out)
    assert "succeeded" in out.getvalue()
    assert GenerationTask.objects.count() == 2


def test_bad_requests_are_refused_clearly(db: Any) -> None:
    with pytest.raises(ApplicationError, match="Unknown or missing relations: nope"):
        services.generation_run_create(backend="openai", relations=["nope"], pair_ids=[1], enqueue=False)
    with pytest.raises(ApplicationError, match="No behaviour pair"):
        services.generation_run_create(backend="openai", relations=["capable_of"], pair_ids=[], enqueue=False)


def test_prompt_templates_are_versioned(db: Any) -> None:
    first = PromptTemplate.objects.get(relation__slug="x_want", head_kind="co_buy", is_active=True)
    new = services.prompt_template_save(
        relation_slug="x_want", head_kind="co_buy", text="{product} and {other_product}: {question} List {items}."
    )
    first.refresh_from_db()
    assert new.version == first.version + 1 and new.is_active and not first.is_active
    with pytest.raises(ApplicationError, match="must ask"):
        services.prompt_template_save(relation_slug="x_want", head_kind="co_buy", text="nothing to answer")


def test_admins_start_runs_through_the_api_and_others_cannot(pairs: Any, api_client_for: Any) -> None:
    pairs("winter boots", "rain boots")
    payload = {"backend": "openai", "relations": ["capable_of"], "pairs": 2, "model": "fake-llm"}
    assert api_client_for("curator").post("/api/generation/runs", payload, format="json").status_code == 403
    bad = api_client_for("admin").post("/api/generation/runs", {"backend": "x", "relations": []}, format="json")
    assert bad.status_code == 400 and {"backend", "relations", "pairs"} <= set(bad.json())
    response = api_client_for("admin").post("/api/generation/runs", payload, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["progress_total"] == 2 and body["model_name"] == "fake-llm"
    detail = api_client_for("admin").get(f"/api/generation/runs/{body['id']}").json()
    assert detail["id"] == body["id"]
