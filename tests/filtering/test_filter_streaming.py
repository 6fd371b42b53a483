"""One read of the pool feeds both filter stages (issue 22): the pool arrives in head order, the similarity stage
cuts its chunks at head boundaries as they fill, and a run over chunks decides as a run over one chunk."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from filtering import pipeline, selectors
from filtering.config import DEFAULT_CONFIG
from filtering.models import FilterDecision
from filtering.services import filter_configuration_create, filter_run_claim, filter_run_create, filter_run_execute
from filtering.types import CandidateText
from knowledge.models import Candidate
from knowledge.services import candidate_status_transition
from tests.conftest import search_buy


def tfidf_config() -> dict[str, Any]:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["encoder"] = "tfidf"
    return config


def candidate(cid: int, head: str) -> CandidateText:
    return CandidateText(id=cid, relation="used_for", tail=f"tail {cid}", tail_norm=f"tail {cid}", head_key=head)


def test_the_similarity_stage_cuts_chunks_only_at_head_boundaries_once_full(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks: list[list[tuple[str, int]]] = []
    monkeypatch.setattr(pipeline, "TFIDF_CHUNK_CANDIDATES", 3)
    monkeypatch.setattr(pipeline, "similarity_filter", _no_drops(chunks))
    monkeypatch.setattr(pipeline, "decisions_write", lambda rows: None)
    advanced: list[int] = []
    stage = pipeline.SimilarityStage(run_id=1, config=tfidf_config(), advance=advanced.append)
    heads = ["a", "a", "b", "b", "b", "b", "c", "d", "d", "d", "e"]
    for cid, head in enumerate(heads, start=1):
        stage.add(candidate(cid, head))
    stage.finish()
    assert [[head for head, _ in chunk] for chunk in chunks] == [
        ["a", "a", "b", "b", "b", "b"],  # full after the third, but "b" goes on: a head is never split
        ["c", "d", "d", "d"],
        ["e"],
    ]
    assert advanced == [6, 4, 1]
    assert stage.dropped == {} and stage.duplicates == {}


def _no_drops(chunks: list[list[tuple[str, int]]]) -> Any:
    class Result:
        def __init__(self, count: int) -> None:
            self.head_verdicts = [None] * count
            self.duplicate_verdicts = [None] * count

    def fake(candidates: list[CandidateText], encoder: Any, **kwargs: Any) -> Result:
        chunks.append([(c.head_key, c.id) for c in candidates])
        return Result(len(candidates))

    return fake


@pytest.mark.django_db
def test_the_pool_is_read_once_in_head_order_without_the_candidates_annotation_took(
    ingest: Any, write_lines: Any
) -> None:
    records = []
    for index in range(12):
        records.append(
            search_buy(
                f"tail number {index}",
                query=f"query {index % 4}",
                product={"id": f"P{index % 4}", "title": f"Product {index % 4}"},
            )
        )
    records += [
        {"kind": "plain", "head": "Zebra Head", "relation": "capable_of", "tail": "run fast"},
        {"kind": "plain", "head": "apple head", "relation": "capable_of", "tail": "grow on trees"},
    ]
    ingest(write_lines(records))
    taken = Candidate.objects.order_by("id").first()
    assert taken is not None
    candidate_status_transition(candidates=[taken.pk], to_status="pooled")
    candidate_status_transition(candidates=[taken.pk], to_status="in_annotation")

    read = list(selectors.filterable_candidates_by_head(batch_size=5))  # several fetches

    assert sorted(c.id for c in read) == sorted(
        Candidate.objects.filter(status="ingested").values_list("id", flat=True)
    )
    assert taken.pk not in {c.id for c in read}
    keys = [(c.head_key, c.id) for c in read]
    assert keys == sorted(keys)  # code-point order of head_key, then id: what the similarity stage chunks by
    assert [c.head_key for c in read][-2:] == ["text:apple head", "text:zebra head"]


@pytest.mark.django_db
def test_a_run_over_many_similarity_chunks_decides_as_a_run_over_one(
    ingest: Any, write_lines: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Near-duplicates are found whatever the chunk size: a head is never split. (The TF-IDF weights are fitted per
    chunk, so cosines move a little with the chunk: the thresholds here leave a wide margin.)"""
    records = []
    for head in range(6):
        query = f"hiking boots model {head}"
        product = {"id": f"B{head}", "title": f"Trail boot {head}"}
        tails = (
            "grip icy sidewalks",
            "keep feet dry on wet trails",
            "keep feet dry, on wet trails",
            "hiking boots model",
        )
        for tail in tails:
            records.append(search_buy(tail, query=query, product=product, relation="used_for_function"))
    ingest(write_lines(records))
    config = tfidf_config()
    config["similarity"].update(duplicate_similarity=0.8, tfidf_max_head_similarity=0.99)
    filter_configuration_create(config=config, note="tfidf, wide margins")

    def decide(chunk: int) -> set[tuple[str, str, int]]:
        monkeypatch.setattr(pipeline, "TFIDF_CHUNK_CANDIDATES", chunk)
        run = filter_run_create()
        assert filter_run_claim(run_id=run.pk)
        run = filter_run_execute(run_id=run.pk)
        assert run.status == "succeeded", run.message
        return {
            (rule, tail, candidate_id)
            for rule, tail, candidate_id in FilterDecision.objects.filter(run=run).values_list(
                "rule", "candidate__tail", "candidate_id"
            )
        }

    whole = decide(1_000)
    chunked = decide(2)  # three kept tails per head: a chunk cut inside a head would part the near-duplicates
    assert whole == chunked
    rules = {rule for rule, _, _ in whole}
    assert "near_duplicate" in rules
    assert len([1 for rule, _, _ in whole if rule == "near_duplicate"]) == 6  # one per head


@pytest.mark.django_db
def test_pool_tail_statistics_count_distinct_heads_per_category_for_frequent_tails_only(
    ingest: Any, write_lines: Any
) -> None:
    records = []
    for head in range(10):  # "for daily use" under ten heads over five categories, twice under the first two
        product = {"id": f"P{head}", "title": f"Product {head}", "category": f"Category {head % 5}"}
        records.append(search_buy("for daily use", query=f"query {head}", product=product))
        if head < 2:
            records.append(search_buy("for daily use", query=f"query {head}", product=product, relation="used_to"))
        records.append(search_buy(f"only here {head}", query=f"query {head}", product=product))
    for head in range(3):  # "to keep warm": three heads only, five candidates
        product = {"id": f"W{head}", "title": f"Warm {head}", "category": "Category 0"}
        records.append(search_buy("to keep warm", query=f"warm query {head}", product=product))
    records += [
        search_buy("to keep warm", query="warm query 0", product={"id": "W0"}, relation="used_to"),
        search_buy("to keep warm", query="warm query 1", product={"id": "W1"}, relation="used_to"),
    ]
    ingest(write_lines(records))

    counts = sorted(selectors.tail_category_head_counts(min_heads=4))

    assert counts == [("for daily use", f"Category {category}", 2) for category in range(5)]
    assert sorted(selectors.tail_category_head_counts(min_heads=3))[:1] == [("for daily use", "Category 0", 2)]
    assert ("to keep warm", "Category 0", 3) in set(selectors.tail_category_head_counts(min_heads=3))


def test_a_similarity_stage_that_is_given_nothing_makes_no_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(settings: Any) -> Any:
        raise AssertionError("no candidate was kept: no encoder (and no model) should be loaded")

    monkeypatch.setattr(pipeline, "make_encoder", no_model)
    stage = pipeline.SimilarityStage(run_id=1, config=tfidf_config(), advance=lambda n: None)
    stage.finish()
    assert stage.dropped == {} and stage.encoder is None
