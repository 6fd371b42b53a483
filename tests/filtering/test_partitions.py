"""A filter run on PostgreSQL filters its pool in partitions by head, in processes of their own
(filtering/partitions.py): the decisions are those of a run in one process, and a partition that fails fails the
run with nothing moved. The children are real ``python -m filtering.partition_worker`` processes reading the test
database, so the rows they read must be committed (transactional tests)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import connection

from core.errors import ApplicationError
from filtering import partitions
from filtering.config import DEFAULT_CONFIG
from filtering.models import FilterDecision
from filtering.services import filter_configuration_create, filter_run_claim, filter_run_create, filter_run_execute
from knowledge.models import Candidate
from tests.conftest import search_buy

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's"),
]


def _pool(ingest: Any, write_lines: Any) -> None:
    """Heads with near-duplicate tails, a tail that repeats its query, junk and a clean tail each."""
    records = []
    for head in range(24):
        query = f"hiking boots model {head}"
        product = {"id": f"B{head}", "title": f"Trail boot {head}", "category": f"Category {head % 3}"}
        for tail in (
            "grip icy sidewalks",
            "keep feet dry on wet trails",
            "keep feet dry, on wet trails",
            "hiking boots model",
            "!!!! $$$$",
        ):
            records.append(search_buy(tail, query=query, product=product, relation="used_for_function"))
    records += [
        {"kind": "plain", "head": f"Plain head {n}", "relation": "capable_of", "tail": f"run fast {n}"}
        for n in range(10)
    ]
    ingest(write_lines(records))
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"].update(encoder="tfidf", duplicate_similarity=0.8, tfidf_max_head_similarity=0.99)
    filter_configuration_create(config=config, note="tfidf, wide margins")


def _run(settings: Any, count: int) -> tuple[Any, set[tuple[int, str]], dict[int, str]]:
    settings.FILTER_PARTITIONS = count
    run = filter_run_create()
    assert filter_run_claim(run_id=run.pk)
    run = filter_run_execute(run_id=run.pk)
    decisions = set(FilterDecision.objects.filter(run=run).values_list("candidate_id", "rule"))
    return run, decisions, dict(Candidate.objects.values_list("id", "status"))


def test_a_run_in_two_processes_decides_and_moves_as_a_run_in_one(ingest: Any, write_lines: Any, settings: Any) -> None:
    _pool(ingest, write_lines)

    alone, alone_decisions, alone_statuses = _run(settings, 1)
    split, split_decisions, split_statuses = _run(settings, 2)

    assert alone.status == split.status == "succeeded", (alone.message, split.message)
    assert "partitions" not in alone.timings and split.timings["partitions"] == 2  # a child process did run
    assert split_decisions == alone_decisions
    assert split_statuses == alone_statuses
    rules = {rule for _candidate, rule in split_decisions}
    assert {"near_duplicate", "junk"} <= rules
    assert split.candidates_seen == alone.candidates_seen == Candidate.objects.count()
    assert split.progress_done == split.progress_total  # the children's candidates were counted too


def test_a_failed_partition_fails_the_run_and_moves_nothing(
    ingest: Any, write_lines: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pool(ingest, write_lines)
    before = dict(Candidate.objects.values_list("id", "status"))
    monkeypatch.setattr(partitions, "WORKER_MODULE", "filtering.no_such_worker")  # the child exits at once

    settings.FILTER_PARTITIONS = 2
    run = filter_run_create()
    assert filter_run_claim(run_id=run.pk)
    with pytest.raises(ApplicationError, match="filter partition 1 of 2 failed"):
        filter_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == "failed"
    assert "no_such_worker" in run.message and "no candidate was moved" in run.message
    assert dict(Candidate.objects.values_list("id", "status")) == before  # every candidate where it was


def test_partitions_are_left_out_where_they_cannot_help(settings: Any) -> None:
    settings.FILTER_PARTITIONS = 2
    tfidf = {"similarity": {"enabled": True, "encoder": "tfidf"}}
    assert partitions.partition_count(tfidf) == 2
    assert partitions.partition_count({"similarity": {"enabled": False}}) == 2
    model_folder = {"similarity": {"enabled": True, "encoder": "/models/some-encoder"}}
    assert partitions.partition_count(model_folder) == 1  # a neural encoder: one process, one model
    from django.db import transaction

    with transaction.atomic():
        assert partitions.partition_count(tfidf) == 1  # a child cannot see the caller's uncommitted rows
    settings.FILTER_PARTITIONS = 1
    assert partitions.partition_count(tfidf) == 1
