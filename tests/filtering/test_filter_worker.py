"""POST /api/filter-runs/ end to end: a real Celery worker process runs the filter run from Redis."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from filtering.config import DEFAULT_CONFIG
from filtering.models import FilterDecision, FilterRun
from knowledge.models import Candidate
from tests.conftest import search_buy, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_admin_starts_a_filter_run_that_the_worker_completes_with_progress_and_report(
    celery_worker_process: Any, api_client_for: Any, ingest: Any, write_lines: Any
) -> None:
    tails = [
        "grip icy sidewalks",
        "support swollen ankles",
        "because the product is used for",
        "winter boots for pregnant women",
    ]
    ingest(write_lines([search_buy(tail) for tail in tails]))
    client = api_client_for("admin")
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["encoder"] = "tfidf"
    assert client.post(reverse("api-filter-configurations"), {"config": config}, format="json").status_code == 201
    response = client.post(reverse("api-filter-runs"), {}, format="json")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert wait_until(
        lambda: FilterRun.objects.filter(pk=run_id, status__in=["succeeded", "failed"]).exists(), timeout=90
    )
    run = client.get(reverse("api-filter-run", args=[run_id])).json()
    assert run["status"] == "succeeded", run["message"]
    assert run["progress"] == 1.0 and run["candidates_seen"] == 4
    statuses = dict(Candidate.objects.values_list("tail", "status"))
    assert statuses["grip icy sidewalks"] == "pooled"
    assert statuses["because the product is used for"] == "filtered_out"
    report = client.get(reverse("api-filter-run-report", args=[run_id])).json()
    assert sum(report["report"]["per_rule"].values()) == FilterDecision.objects.filter(run_id=run_id).count()
