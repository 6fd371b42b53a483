"""Batches formed from strata on the real database: merging, the stratified audit, approval without the strata
that failed, the queue's figures, the API and the migration of existing batches."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from core.errors import ApplicationError, Conflict
from curation import selectors, services
from curation.maths import stratified_estimate
from curation.models import AcceptedEdge, BatchMember, BatchStratum, CurationEvent, ReviewBatch
from knowledge.models import Candidate, Relation
from tests.factories import UserFactory

SMALL = {
    "BATCH_TARGET_SIZE": 20,
    "BATCH_MAX_SIZE": 40,
    "STRATUM_MIN_SIZE": 5,
    "STRATUM_MIN_AUDIT": 2,
    "AUDIT_HALF_WIDTH": 0.3,
}


@pytest.fixture
def small_batches(settings: Any) -> None:
    settings.PLAUSI_CURATION = {**settings.PLAUSI_CURATION, **SMALL}
    cache.clear()


def three_strata(scored_pool: Any) -> dict[str, list[Any]]:
    return {
        "shoes": scored_pool(12, category="Shoes"),
        "kitchen": scored_pool(10, category="Kitchen"),
        "other": scored_pool(8, relation="used_for_function", category="Shoes"),
    }


def answer(batch: ReviewBatch, curator: Any, wrong_in: set[int] = frozenset()) -> ReviewBatch:  # type: ignore[assignment]
    """Answer the audit sample: No in the strata ``wrong_in``, Yes elsewhere."""
    for member in BatchMember.objects.filter(batch=batch, in_audit=True).order_by("candidate_id"):
        batch = services.audit_answer(
            batch_id=batch.pk,
            candidate_id=member.candidate_id,
            value=member.stratum_id not in wrong_in,
            curator=curator,
        )
    return batch


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_strata_of_one_relation_merge_up_to_the_target_and_each_gets_audit_items(scored_pool: Any) -> None:
    pools = three_strata(scored_pool)
    batches = sorted(services.review_batches_create(seed=1), key=lambda b: -b.size)
    assert [(b.relation.slug, b.size) for b in batches] == [("capable_of", 22), ("used_for_function", 8)]
    merged = batches[0]
    assert merged.category is None and merged.strata.count() == 2  # Shoes and Kitchen, one stratum each
    for stratum in BatchStratum.objects.all():
        in_audit = BatchMember.objects.filter(stratum=stratum, in_audit=True).count()
        assert in_audit == stratum.audit_size >= 2
        assert BatchMember.objects.filter(stratum=stratum).count() == stratum.size
    assert merged.audit_size == sum(s.audit_size for s in merged.strata.all())
    labels = sorted(merged.strata.values_list("label", flat=True))
    assert labels == ["capable_of · Kitchen · 0.95-1.00", "capable_of · Shoes · 0.95-1.00"]
    assert sum(len(v) for v in pools.values()) == BatchMember.objects.count()
    assert services.review_batches_create() == []


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_batches_hold_several_relations_only_when_asked(scored_pool: Any) -> None:
    three_strata(scored_pool)
    batches = services.review_batches_create(seed=2, across_relations=True)
    mixed = [b for b in batches if b.relation is None]
    assert len(mixed) == 1 and len(set(mixed[0].strata.values_list("relation", flat=True))) == 2
    assert sum(b.size for b in batches) == 30
    event = CurationEvent.objects.get(action="batch_created", batch=mixed[0])
    assert event.details["across_relations"] is True and event.details["strata"] == mixed[0].strata.count()


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_score_bands_are_strata_of_their_own_when_they_are_large_enough(scored_pool: Any) -> None:
    from classifiers.models import CandidateScore

    candidates = scored_pool(16, category="Shoes")
    CandidateScore.objects.filter(candidate__in=candidates[8:], target="plausible").update(score=0.85)
    (batch,) = services.review_batches_create(seed=3)
    strata = list(batch.strata.order_by("-score_high"))
    assert [(s.score_low, s.score_high, s.size) for s in strata] == [(0.95, 1.0, 8), (0.8, 0.9, 8)]
    assert (batch.score_low, batch.score_high) == (0.8, 1.0)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_approving_without_a_failed_stratum_accepts_the_rest_and_returns_the_excluded_to_the_pool(
    scored_pool: Any,
) -> None:
    from annotation.models import QueueItem

    pools = three_strata(scored_pool)
    for candidate in pools["kitchen"]:
        QueueItem.objects.create(candidate=candidate, priority=1.0)
    batch = next(b for b in services.review_batches_create(seed=4) if b.size == 22)
    kitchen = batch.strata.get(category__name="Kitchen")
    curator = UserFactory(role="curator")
    batch = answer(batch, curator, wrong_in={kitchen.pk})
    estimate = services.batch_estimate(batch)
    rows = {row["id"]: row for row in estimate["strata"]}
    assert rows[kitchen.pk]["flagged"] and rows[kitchen.pk]["precision"] == 0.0
    assert estimate["precision"] == pytest.approx(12 / 22)  # weighted by size: Shoes all right, Kitchen all wrong
    with pytest.raises(Conflict, match="override reason"):
        services.batch_decide(batch_id=batch.pk, approve=True, curator=curator)
    for wrong in ([987654], [s.pk for s in batch.strata.all()]):
        with pytest.raises(ApplicationError):
            services.batch_decide(batch_id=batch.pk, approve=True, curator=curator, exclude_strata=wrong)
    with pytest.raises(ApplicationError, match="rejecting"):
        services.batch_decide(batch_id=batch.pk, approve=False, curator=curator, exclude_strata=[kitchen.pk])
    batch = services.batch_decide(batch_id=batch.pk, approve=True, curator=curator, exclude_strata=[kitchen.pk])
    assert batch.status == "approved" and batch.override_reason == ""
    statuses = dict(Candidate.objects.values_list("pk", "status"))
    assert {statuses[c.pk] for c in pools["shoes"]} == {"accepted"}
    assert {statuses[c.pk] for c in pools["kitchen"]} == {"pooled"}
    assert set(QueueItem.objects.values_list("priority", flat=True)) == {-4.0}
    assert AcceptedEdge.objects.count() == 12
    kitchen.refresh_from_db()
    assert kitchen.excluded and not BatchMember.objects.filter(batch=batch, is_open=True).exists()
    event = CurationEvent.objects.get(action="batch_approved")
    assert event.details["excluded_strata"] == [kitchen.pk] and event.details["returned_to_pool"] == 10
    assert event.details["precision"] == 1.0 and event.details["accepted"] == 12
    assert services.batch_estimate(batch)["precision"] == 1.0  # the kept strata's, as approved


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_the_queue_counts_candidates_and_audit_answers_to_an_empty_queue(scored_pool: Any) -> None:
    three_strata(scored_pool)
    before = selectors.curation_queue()
    assert before["unbatched"] == 30 and before["open_batches"] == 0 and before["batches_needed"] == 2
    batches = services.review_batches_create(seed=5)
    planned_audit = sum(b.audit_size for b in batches)
    assert before["audit_needed_unbatched"] == planned_audit == before["audit_left_total"]
    after = selectors.curation_queue()
    assert (after["unbatched"], after["open_batches"], after["open_candidates"]) == (0, 2, 30)
    assert after["audit_left_open"] == planned_audit and after["audit_needed_unbatched"] == 0
    member = BatchMember.objects.filter(in_audit=True).first()
    assert member is not None
    services.audit_answer(batch_id=member.batch_id, candidate_id=member.candidate_id, value=True, curator=None)
    assert selectors.curation_queue()["audit_left_open"] == planned_audit - 1


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_the_batch_estimate_is_the_stratified_one_and_changed_answers_move_the_stratum_counts(
    scored_pool: Any,
) -> None:
    three_strata(scored_pool)
    batch = next(b for b in services.review_batches_create(seed=6) if b.size == 22)
    curator = UserFactory(role="curator")
    first = BatchMember.objects.filter(batch=batch, in_audit=True).order_by("candidate_id").first()
    assert first is not None
    services.audit_answer(batch_id=batch.pk, candidate_id=first.candidate_id, value=False, curator=curator)
    services.audit_answer(batch_id=batch.pk, candidate_id=first.candidate_id, value=True, curator=curator)
    stratum = BatchStratum.objects.get(pk=first.stratum_id)
    assert (stratum.audit_yes, stratum.audit_no) == (1, 0)
    batch = answer(batch, curator)
    strata = list(batch.strata.all())
    expected = stratified_estimate([(s.size, s.audit_yes, s.audit_no) for s in strata])
    estimate = services.batch_estimate(batch)
    assert estimate["precision"] == expected["precision"] == 1.0 and estimate["complete"]
    assert estimate["wilson_low"] == pytest.approx(expected["wilson_low"])


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_the_api_forms_batches_reports_the_queue_and_approves_without_strata(
    scored_pool: Any, api_client_for: Any
) -> None:
    three_strata(scored_pool)
    curator = api_client_for("curator")
    assert api_client_for("annotator").get(reverse("api-curation-queue")).status_code == 403
    queue = curator.get(reverse("api-curation-queue")).json()
    assert queue["unbatched"] == 30 and queue["batches_needed"] == 2 and queue["target_size"] == 20
    bad = curator.post(reverse("api-batches"), {"target_size": 0}, format="json")
    assert bad.status_code == 400 and "target_size" in bad.json()
    created = curator.post(reverse("api-batches"), {"across_relations": True, "target_size": 40}, format="json")
    assert created.status_code == 201
    (batch,) = created.json()
    assert batch["relation"] is None and len(batch["estimate"]["strata"]) == 3
    detail = curator.get(reverse("api-batch", args=[batch["id"]])).json()
    other = next(s["id"] for s in detail["estimate"]["strata"] if s["label"].startswith("used_for_function"))
    for item in detail["audit"]:
        answered = curator.post(
            reverse("api-batch-audit", args=[batch["id"]]),
            {"candidate": item["candidate"]["id"], "value": item["stratum"] != other},
            format="json",
        )
        assert answered.status_code == 200
    flagged = [s["id"] for s in answered.json()["strata"] if s["flagged"]]
    assert flagged == [other]
    url = reverse("api-batch-decision", args=[batch["id"]])
    refused = curator.post(url, {"approve": True, "exclude_strata": [987654]}, format="json")
    assert refused.status_code == 400 and "987654" in refused.json()["detail"]
    decided = curator.post(url, {"approve": True, "exclude_strata": [other]}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert [s["excluded"] for s in decided.json()["estimate"]["strata"] if s["id"] == other] == [True]
    assert decided.json()["estimate"]["precision"] == 1.0
    assert AcceptedEdge.objects.count() == 22
    cache.clear()
    assert curator.get(reverse("api-curation-queue")).json()["unbatched"] == 0


@pytest.mark.django_db
def test_the_pages_show_the_queue_the_strata_and_tell_a_new_curator_what_to_do(
    scored_pool: Any, client: Any, settings: Any
) -> None:
    settings.PLAUSI_CURATION = {**settings.PLAUSI_CURATION, **SMALL}
    cache.clear()
    client.force_login(UserFactory(role="curator"))
    assert b"No scored candidates yet" in client.get(reverse("curation-batches")).content
    scored_pool(12, category="Shoes")
    scored_pool(10, category="Kitchen")
    cache.clear()
    page = client.get(reverse("curation-batches")).content.decode()
    assert "Batch the 22 scored candidates" in page
    (batch,) = services.review_batches_create(seed=7)
    page = client.get(reverse("curation-batch", args=[batch.pk])).content.decode()
    assert page.count('<tr data-stratum="') == 2 and 'id="exclusions"' in page
    # examples: the five highest and the five lowest, never the same candidate twice
    detail = selectors.batch_detail(batch)
    best, worst = {c["id"] for c in detail["best"]}, {c["id"] for c in detail["worst"]}
    assert len(best) == len(worst) == 5 and not best & worst


@pytest.mark.django_db
def test_a_small_batch_lists_its_examples_once(scored_pool: Any) -> None:
    scored_pool(7)
    (batch,) = services.review_batches_create(seed=8)
    detail = selectors.batch_detail(batch)
    assert len(detail["best"]) == 7 and detail["worst"] == []
    assert [c["score"] for c in detail["best"]] == sorted((c["score"] for c in detail["best"]), reverse=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="migrates back past pg_trgm (PostgreSQL's)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_batches_become_one_stratum_each_when_migrating() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("curation", "0005_export_format_csv")])
    executor.loader.build_graph()
    old = executor.loader.project_state([("curation", "0005_export_format_csv")]).apps
    relation = old.get_model("knowledge", "Relation").objects.get(slug="capable_of")
    candidate = old.get_model("knowledge", "Candidate").objects.create(
        relation=relation,
        head_kind="plain",
        head_text="boots",
        tail="keep feet warm",
        tail_normalized="k",
        status="scored",
    )
    batch = old.get_model("curation", "ReviewBatch").objects.create(
        relation=relation, score_low=0.9, score_high=0.95, size=1, audit_size=1, audit_yes=1, half_width=0.05
    )
    old.get_model("curation", "BatchMember").objects.create(
        batch=batch, candidate=candidate, score=0.93, in_audit=True, audit_value=True
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("curation", "0007_batch_member_stratum_required")])
    stratum = BatchStratum.objects.get(batch_id=batch.pk)
    assert (stratum.label, stratum.size, stratum.audit_size, stratum.audit_yes) == ("capable_of", 1, 1, 1)
    assert (stratum.score_low, stratum.score_high) == (0.9, 0.95)
    assert BatchMember.objects.get(batch_id=batch.pk).stratum_id == stratum.pk
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_max_batches_forms_the_plans_first_batches_and_leaves_the_rest_of_the_pool(scored_pool: Any) -> None:
    pools = three_strata(scored_pool)
    more = scored_pool(25, relation="used_for_function", category="Kitchen")
    whole = selectors.unbatched_plan()
    assert whole == {"unbatched": 55, "batches_needed": 3, "audit_needed": whole["audit_needed"]}

    by_relation = {
        "capable_of": {c.pk for c in pools["shoes"] + pools["kitchen"]},  # one batch of 22
        "used_for_function": {c.pk for c in pools["other"] + more},  # two batches, 33 in all
    }
    slugs = {r.pk: r.slug for r in Relation.objects.filter(slug__in=by_relation)}
    first_slug, second_slug = (slugs[pk] for pk in sorted(slugs))  # the plan goes by relation id

    first = services.review_batches_create(seed=1, max_batches=1)
    assert [b.relation.slug for b in first] == [first_slug]
    assert {m.candidate_id for m in first[0].members.all()} <= by_relation[first_slug]
    left = selectors.unbatched_plan()
    assert left["unbatched"] == 55 - first[0].size
    untouched = {c.pk for c in Candidate.objects.filter(relation__slug=second_slug)}
    assert not BatchMember.objects.filter(candidate_id__in=untouched).exists()  # the other relation: as it was

    rest = services.review_batches_create(seed=1, max_batches=5)
    assert len(first) + len(rest) == whole["batches_needed"]
    formed = {m.candidate_id for b in [*first, *rest] for m in b.members.all()}
    assert formed == by_relation["capable_of"] | by_relation["used_for_function"]
    assert selectors.unbatched_plan()["unbatched"] == 0
    with pytest.raises(ApplicationError):
        services.review_batches_create(max_batches=0)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_the_api_and_the_page_form_batches_per_call_unless_told(scored_pool: Any, client: Any, settings: Any) -> None:
    three_strata(scored_pool)
    settings.PLAUSI_CURATION = {**settings.PLAUSI_CURATION, "BATCHES_PER_CALL": 1}
    client.force_login(UserFactory(role="curator"))
    first = client.post(reverse("api-batches"), {}, content_type="application/json")
    assert first.status_code == 201 and len(first.json()) == 1
    page = client.post(reverse("curation-batches-create"), follow=True)
    assert "1 new batch(es) (the most one press forms; press again for more)" in page.content.decode()
    assert ReviewBatch.objects.count() == 2 and selectors.unbatched_plan()["unbatched"] == 0
    assert client.post(reverse("api-batches"), {"max_batches": 5}, content_type="application/json").json() == []


@pytest.mark.django_db
@pytest.mark.usefixtures("small_batches")
def test_the_cached_queue_shows_an_audit_answer_and_a_new_batch_at_once(scored_pool: Any) -> None:
    three_strata(scored_pool)
    assert selectors.curation_queue_cached()["unbatched"] == 30
    scored_pool(3, category="Garden")  # newly scored: the cached pool part shows it within QUEUE_CACHE_SECONDS
    assert selectors.curation_queue_cached()["unbatched"] == 30
    batches = services.review_batches_create(seed=5)  # a new batch changes the key
    queue = selectors.curation_queue_cached()
    assert queue["unbatched"] == 0 and queue["open_batches"] == len(batches)
    member = BatchMember.objects.filter(in_audit=True).first()
    assert member is not None
    services.audit_answer(batch_id=member.batch_id, candidate_id=member.candidate_id, value=True, curator=None)
    assert selectors.curation_queue_cached()["audit_left_open"] == queue["audit_left_open"] - 1
