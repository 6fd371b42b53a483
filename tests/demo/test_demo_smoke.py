"""The demo as a new user runs it, on whichever database the suite runs on (``make test`` runs it on PostgreSQL and,
marked ``sqlite``, again on SQLite: config.settings.test_sqlite): the demo's setup (data, filter, queue, accounts),
a simulated annotation session with answers over two days, a training per target, scoring, review batches and an
export; then every HTML page, every admin list and every dashboard plot answers 200 over HTTP to the admin.

tests/knowledge/test_demo_setup.py runs the setup itself as the demo does (a subprocess, a fresh folder); this test
runs what comes after it, against a live server.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

pytestmark = pytest.mark.sqlite

# Named pages that are not a GET of an HTML page: a form's POST target, the sign-out (a POST), the JSON ones.
# The sign-in page redirects a signed-in user: it is fetched without the session.
# POST only, no page, or gone (the dashboard's server-drawn plots answer 410: the charts are drawn in the browser)
NOT_PAGES = {"curation-batches-create", "account-token-revoke", "logout", "healthz", "login", "dashboard-plot"}


def _page_names(patterns: list[Any], prefix: str = "") -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if "admin" not in str(pattern.pattern):
                yield from _page_names(pattern.url_patterns)
        elif (
            isinstance(pattern, URLPattern)
            and pattern.name
            and not pattern.name.startswith("api-")
            and pattern.name not in NOT_PAGES
        ):
            yield pattern


def _simulate_and_spread_over_two_days() -> int:
    from annotation.models import Answer

    call_command("simulate_annotators", annotators=3, seed=7, max_answers=900, no_progress=True, stdout=io.StringIO())
    ids = list(Answer.objects.order_by("id").values_list("id", flat=True))
    yesterday = timezone.now() - dt.timedelta(days=1)
    Answer.objects.filter(id__in=ids[: len(ids) // 2]).update(created_at=yesterday)  # the date bucketing's input
    return len(ids)


def _train_score_batch_export() -> dict[str, int]:
    from classifiers import services as classifiers
    from classifiers.models import ScoringRun
    from curation import services as curation
    from curation.models import AcceptedEdge, ExportRun, GraphNode, ReviewBatch
    from filtering.models import FilterRun

    for target in ("plausible", "typical"):
        run = classifiers.training_run_request(target=target, force=True)
        assert run is not None and classifiers.training_run_claim(run_id=run.pk)
        assert classifiers.training_run_execute(run_id=run.pk).status == "succeeded", target
    for scoring in ScoringRun.objects.filter(status="running"):
        for chunk in scoring.chunks.filter(status="pending"):
            assert classifiers.scoring_chunk_claim(chunk_id=chunk.pk, claimer="smoke")
            classifiers.scoring_chunk_execute(chunk_id=chunk.pk, claimer="smoke")
    curation.review_batches_create(seed=3)
    batch = ReviewBatch.objects.order_by("id").first()
    assert batch is not None, "no review batch: nothing was scored"
    export = curation.export_run_create(format=ExportRun.Format.values[0], enqueue=False)
    assert curation.export_run_claim(run_id=export.pk)
    assert curation.export_run_execute(run_id=export.pk).status == "succeeded"
    node = GraphNode.objects.order_by("id").first()
    edge = AcceptedEdge.objects.order_by("id").first()
    return {
        "run_id": FilterRun.objects.get().pk,
        "batch_id": batch.pk,
        "node_id": node.pk if node is not None else 0,
        "edge_id": edge.pk if edge is not None else 0,
    }


# serialized_rollback: the rows the migrations seed (relations, questions, role groups) are there whatever ran before
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_demo_set_up_annotated_trained_batched_and_exported_serves_every_page_and_the_chart_data(
    live_server: Any, settings: Any, monkeypatch: Any
) -> None:
    # The test runs the runs it starts itself: their messages stay in the outbox, so a worker left running by an
    # earlier test module cannot take a scoring chunk away from it (the batch would then find nothing scored).
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    # a few hundred answers train weak classifiers: a low precision target lets some candidates reach a batch
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "TARGET_PRECISION": 0.01}
    out = io.StringIO()
    call_command("demo", "--setup-only", stdout=out)
    (password,) = re.findall(r"^\s+admin\s+admin\s+(\S+)$", out.getvalue(), re.M)
    answers = _simulate_and_spread_over_two_days()
    assert answers >= 500
    ids = _train_score_batch_export()

    from django.contrib.auth import get_user_model

    browser = Client()
    browser.force_login(get_user_model().objects.get(username="admin"))
    cookies = {name: morsel.value for name, morsel in browser.cookies.items()}
    urls = []
    for pattern in _page_names(get_resolver().url_patterns):
        wanted = set(pattern.pattern.regex.groupindex)
        if wanted & {"node_id", "edge_id", "version_id"} and not all(ids.get(key) for key in wanted):
            continue
        else:
            urls.append(reverse(str(pattern.name), kwargs={key: ids[key] for key in wanted}))
    urls += [reverse("admin:index")]
    urls += [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    assert "/dashboard/" in urls and "/annotate/" in urls and "/graph/" in urls

    assert httpx.get(live_server.url + reverse("login"), timeout=60).status_code == 200
    failures = {}
    with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=60) as http:
        for url in urls:
            response = http.get(url)
            if response.status_code != 200:
                failures[url] = response.status_code
        urls.append(reverse("api-dashboard-charts"))  # what the dashboard's charts are drawn from
        response = http.get(urls[-1])
        if response.status_code != 200 or not response.json():
            failures[urls[-1]] = response.status_code
    assert failures == {}
    assert password  # the demo printed the admin's password (the setup's output is what a new user reads)


def test_the_throughput_counts_answers_per_utc_day(db: Any) -> None:
    """The dashboard's per-day bucketing, on the database under test (SQLite used to give the year as the date)."""
    from annotation.models import Answer
    from pipeline.dashboard import throughput
    from tests.factories import CandidateFactory, UserFactory

    candidate, annotator = CandidateFactory(), UserFactory(role="annotator")
    from annotation.models import Assignment, Question

    questions = list(Question.objects.order_by("order"))[:3]
    now = timezone.now()
    assignment = Assignment.objects.create(candidate=candidate, annotator=annotator, lease_expires_at=now)
    for days_ago, question in zip((0, 1, 1), questions, strict=True):
        answer = Answer.objects.create(
            assignment=assignment,
            candidate=candidate,
            question=question,
            annotator=annotator,
            value=True,
            idempotency_key=f"k{question.pk}",
        )
        Answer.objects.filter(pk=answer.pk).update(created_at=now - dt.timedelta(days=days_ago))
    per_day = dict(throughput(days=3))
    assert per_day[now.astimezone(dt.UTC).date()] == 1
    assert per_day[(now - dt.timedelta(days=1)).astimezone(dt.UTC).date()] == 2
