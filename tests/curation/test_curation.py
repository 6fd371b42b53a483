"""Batches, audits, decisions with provenance and the audit log, single decisions, permissions, the graph."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from annotation.models import ConsolidatedLabel, NewLabelCount
from core.errors import Conflict
from curation import services
from curation.models import AcceptedEdge, BatchMember, CurationEvent, GraphNode, ReviewBatch
from knowledge.models import Candidate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def audit_all(batch: ReviewBatch, curator: Any, *, wrong: int = 0) -> ReviewBatch:
    members = list(BatchMember.objects.filter(batch=batch, in_audit=True).order_by("candidate_id"))
    for i, member in enumerate(members):
        batch = services.audit_answer(
            batch_id=batch.pk, candidate_id=member.candidate_id, value=i >= wrong, curator=curator
        )
    return batch


def test_batches_group_by_relation_category_and_band_with_a_sized_audit_sample(scored_pool: Any, settings: Any) -> None:
    settings.PLAUSI_CURATION = {**settings.PLAUSI_CURATION, "BATCH_MAX_SIZE": 25, "AUDIT_HALF_WIDTH": 0.2}
    scored_pool(30)
    scored_pool(5, relation="used_for_function", category="Kitchen")
    batches = services.review_batches_create(seed=1)
    assert sorted(b.size for b in batches) == [5, 5, 25]  # capped at 25; the other relation/category apart
    for batch in batches:
        # n0 = 1.96^2 * .25 / .2^2 = 24.0 with the finite population correction
        assert batch.audit_size == BatchMember.objects.filter(batch=batch, in_audit=True).count()
        assert 0 < batch.audit_size <= batch.size
    assert services.review_batches_create() == []  # a candidate is in one open batch at most
    assert CurationEvent.objects.filter(action="batch_created").count() == 3


def test_batching_needs_active_classifiers(db: Any) -> None:
    with pytest.raises(Conflict):
        services.review_batches_create()


def test_approving_accepts_with_provenance_rejects_audited_wrong_ones_and_logs(scored_pool: Any) -> None:
    candidates = scored_pool(20)
    (batch,) = services.review_batches_create(seed=2)
    curator = UserFactory(role="curator")
    with pytest.raises(Conflict, match="whole audit sample"):
        services.batch_decide(batch_id=batch.pk, approve=True, curator=curator)
    batch = audit_all(batch, curator, wrong=1)
    estimate = services.batch_estimate(batch)
    assert estimate["complete"] and estimate["precision"] == (batch.audit_size - 1) / batch.audit_size
    batch = services.batch_decide(
        batch_id=batch.pk,
        approve=True,
        curator=curator,
        override_reason="" if estimate["precision"] >= 0.85 else "checked by hand",
    )
    assert batch.status == "approved"
    statuses = dict(Candidate.objects.filter(pk__in=[c.pk for c in candidates]).values_list("pk", "status"))
    wrong = BatchMember.objects.get(batch=batch, audit_value=False).candidate_id
    assert statuses.pop(wrong) == "rejected"
    assert set(statuses.values()) == {"accepted"}
    edge = AcceptedEdge.objects.select_related("head", "tail").get(candidate_id=candidates[3].pk)
    assert edge.batch == batch and edge.curator == curator and edge.score == pytest.approx(0.97)
    assert edge.head.kind == "query" and edge.tail.kind == "concept" and edge.category.name == "Shoes"
    assert edge.versions["typical"]["token"] == 2 and edge.audit["audited"] == batch.audit_size
    assert AcceptedEdge.objects.count() == 19
    # audit answers became human labels and count toward retraining
    assert ConsolidatedLabel.objects.filter(
        candidate_id=wrong, question__slug="typical", value=False, method="audit"
    ).exists()
    assert NewLabelCount.objects.get(question__slug="typical").count == batch.audit_size
    assert CurationEvent.objects.filter(action="batch_approved", batch=batch, actor=curator).exists()
    assert CurationEvent.objects.filter(action="audit_answer").count() == batch.audit_size
    with pytest.raises(Conflict):
        services.batch_decide(batch_id=batch.pk, approve=False, curator=curator)


def test_a_batch_under_the_bar_needs_an_override_reason(scored_pool: Any) -> None:
    scored_pool(10)
    (batch,) = services.review_batches_create(seed=3)
    curator = UserFactory(role="curator")
    batch = audit_all(batch, curator, wrong=batch.audit_size // 2 + 1)
    with pytest.raises(Conflict, match="override reason"):
        services.batch_decide(batch_id=batch.pk, approve=True, curator=curator)
    batch = services.batch_decide(batch_id=batch.pk, approve=True, curator=curator, override_reason="known good source")
    assert batch.override_reason == "known good source"
    assert CurationEvent.objects.get(action="batch_approved").details["override_reason"] == "known good source"


def test_rejecting_returns_the_batch_to_the_pool_at_a_lower_priority(scored_pool: Any) -> None:
    from annotation.models import QueueItem

    candidates = scored_pool(8)
    for candidate in candidates:
        QueueItem.objects.create(candidate=candidate, priority=1.0)
    (batch,) = services.review_batches_create(seed=4)
    curator = UserFactory(role="curator")
    batch = audit_all(batch, curator, wrong=batch.audit_size)  # all wrong
    batch = services.batch_decide(batch_id=batch.pk, approve=False, curator=curator)
    assert batch.status == "rejected"
    assert set(Candidate.objects.filter(pk__in=[c.pk for c in candidates]).values_list("status", flat=True)) == {
        "pooled"
    }
    assert set(QueueItem.objects.values_list("priority", flat=True)) == {-4.0}
    assert not AcceptedEdge.objects.exists()
    assert services.review_batches_create() == []  # they are pooled now, not scored


def test_single_candidates_can_be_accepted_and_rejected(scored_pool: Any) -> None:
    first, second = scored_pool(2, tails=["keep feet warm"])
    curator = UserFactory(role="curator")
    assert services.candidate_decide(candidate_id=first.pk, accept=True, curator=curator).status == "accepted"
    assert services.candidate_decide(candidate_id=second.pk, accept=False, curator=curator).status == "rejected"
    assert AcceptedEdge.objects.get().candidate_id == first.pk
    # equal normalised tails are one concept node
    assert services.candidate_decide(candidate_id=second.pk, accept=True, curator=curator).status == "accepted"
    assert GraphNode.objects.filter(kind="concept").count() == 2  # "keep feet warm 0" and "... 1"
    assert services.candidate_decide(candidate_id=first.pk, accept=False, curator=curator).status == "rejected"
    assert AcceptedEdge.objects.get().candidate_id == second.pk
    assert CurationEvent.objects.filter(action__startswith="candidate_").count() == 4


def test_the_api_runs_an_audit_and_a_decision_and_annotators_cannot_curate(
    scored_pool: Any, api_client_for: Any
) -> None:
    scored_pool(6, tails=['<script>alert("x")</script> grip'])
    curator = api_client_for("curator")
    assert api_client_for("annotator").post(reverse("api-batches")).status_code == 403
    created = curator.post(reverse("api-batches"))
    assert created.status_code == 201
    batch_id = created.json()[0]["id"]
    detail = curator.get(reverse("api-batch", args=[batch_id])).json()
    assert detail["estimate"]["audit_size"] == len(detail["audit"]) and len(detail["histogram"]) == 10
    assert detail["audit"][0]["candidate"]["tail"].startswith("<script>")  # data, escaped by the page
    for item in detail["audit"]:
        response = curator.post(
            reverse("api-batch-audit", args=[batch_id]),
            {"candidate": item["candidate"]["id"], "value": True},
            format="json",
        )
        assert response.status_code == 200
    assert response.json()["precision"] == 1.0 and response.json()["complete"]
    bad = curator.post(reverse("api-batch-audit", args=[batch_id]), {"candidate": "x"}, format="json")
    assert bad.status_code == 400 and {"candidate", "value"} <= set(bad.json())
    assert (
        api_client_for("annotator")
        .post(reverse("api-batch-decision", args=[batch_id]), {"approve": True}, format="json")
        .status_code
        == 403
    )
    decided = curator.post(reverse("api-batch-decision", args=[batch_id]), {"approve": True}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    summary = curator.get(reverse("api-graph-summary")).json()
    assert summary["edges"] == 6 and summary["edges_by_relation"] == {"capable_of": 6}
    assert summary["edges_by_category"] == {"Shoes": 6} and summary["nodes_by_kind"]["category"] == 1
    edge = AcceptedEdge.objects.select_related("tail").first()
    assert edge is not None
    out = curator.get(reverse("api-graph-node", args=[edge.head_id])).json()["out"]
    assert len(out) == 1 and out[0]["tail"]["label"] == edge.tail.label  # each candidate has its own query here
    events = curator.get(reverse("api-curation-events")).json()
    assert events[0]["action"] == "batch_approved"


def test_auditing_or_deciding_what_does_not_exist_is_a_404_not_a_500(api_client_for: Any) -> None:
    curator = api_client_for("curator")
    missing = 987654
    for name, body, detail in (
        ("api-candidate-decision", {"accept": True}, "No such candidate."),
        ("api-batch-audit", {"candidate": 1, "value": True}, "No such review batch."),
        ("api-batch-decision", {"approve": True}, "No such review batch."),
    ):
        response = curator.post(reverse(name, args=[missing]), body, format="json")
        assert response.status_code == 404 and response.json() == {"detail": detail}, name
    assert not CurationEvent.objects.exists()


def test_an_unknown_or_unstorable_batch_status_filter_is_a_400_not_a_500(api_client_for: Any) -> None:
    curator = api_client_for("curator")
    assert curator.get(reverse("api-batches"), {"status": "auditing"}).status_code == 200
    for status in ("bogus", "audit\x00ing"):
        response = curator.get(reverse("api-batches"), {"status": status})
        assert response.status_code == 400 and "status" in response.json(), status


def test_pages_escape_llm_text_and_check_roles(scored_pool: Any, client: Any) -> None:
    scored_pool(3, tails=['<img src=x onerror="alert(1)"> grip'])
    (batch,) = services.review_batches_create(seed=5)
    client.force_login(UserFactory(role="annotator"))
    for name, args in (("curation-batches", []), ("curation-batch", [batch.pk]), ("graph", []), ("exports", [])):
        assert client.get(reverse(name, args=args)).status_code == 403
    client.force_login(UserFactory(role="curator"))
    page = client.get(reverse("curation-batch", args=[batch.pk]))
    assert page.status_code == 200
    assert b"<img src=x" not in page.content and b"&lt;img src=x onerror=" in page.content
    assert client.get(reverse("curation-batches")).status_code == 200
    assert client.get(reverse("graph")).status_code == 200
    assert client.get(reverse("exports")).status_code == 403  # exports are for admins


def test_the_dashboard_shows_the_funnel_runs_and_charts_to_curators(scored_pool: Any, client: Any) -> None:
    from classifiers.models import TrainingRun

    scored_pool(3)
    (batch,) = services.review_batches_create(seed=6)
    TrainingRun.objects.create(target="typical", kind="tfidf_lr", status="running", progress_total=10, progress_done=4)
    client.force_login(UserFactory(role="annotator"))
    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("api-dashboard-charts")).status_code == 403
    assert client.get(reverse("dashboard-plot", args=["funnel"])).status_code == 403
    client.force_login(UserFactory(role="curator"))
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    funnel = dict(page.context["funnel"])
    assert funnel["scored"] == 3 and funnel["accepted"] == 0
    assert b"training #" in page.content and f"#{batch.pk} capable_of".encode() in page.content
    html = page.content.decode()
    for canvas in ("chart-funnel", "chart-throughput", "chart-learning", "chart-batches"):
        assert f'<canvas id="{canvas}"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "<img" not in html and "No candidates yet" not in html
    # the old server-drawn plot images are gone (docs/curation.md), not drawn in the request any more
    for name in ("funnel", "throughput", "learning-curve", "batches", "nope"):
        assert client.get(reverse("dashboard-plot", args=[name])).status_code == 410
