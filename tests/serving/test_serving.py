"""The serving API, the feature store and the asynchronous cache (docs/serving.md), on PostgreSQL, Redis and a
real Celery worker where the flow is asynchronous."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from django.db import connection

from core.models import OutboxMessage
from curation import services as curation
from curation.models import BatchMember, ReviewBatch
from serving.keys import ServingKey, key_parse
from serving.models import GeneratedKnowledge, ServingEntry
from serving.services import GENERATE_TASK, serving_generated_claim, serving_store_rebuild
from tests.conftest import wait_until
from tests.factories import UserFactory


def approve_all(curator: Any) -> list[ReviewBatch]:
    batches = curation.review_batches_create(seed=7)
    for batch in batches:
        for member in BatchMember.objects.filter(batch=batch, in_audit=True):
            curation.audit_answer(batch_id=batch.pk, candidate_id=member.candidate_id, value=True, curator=curator)
        curation.batch_decide(batch_id=batch.pk, approve=True, curator=curator)
    return batches


def get(client: Any, route: str, **params: Any) -> Any:
    response = client.get(f"/api/serving/{route}/", params)
    return response.status_code, orjson.loads(response.content)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_approval_reaches_the_serving_api_with_no_manual_step(
    scored_pool: Any, celery_worker_process: Any, api_client_for: Any
) -> None:
    candidates = scored_pool(6)
    pair = candidates[0].pair
    client = api_client_for("serving")
    status, before = get(client, "pair", query=pair.query.text, product=pair.product.external_id)
    assert status == 200 and not before["found"] and before["curated"]["count"] == 0
    approve_all(UserFactory(role="curator"))
    key = {"query": pair.query.text.upper() + "  ", "product": pair.product.external_id}

    def served() -> bool:
        return get(client, "pair", **key)[1]["found"]

    assert wait_until(served, timeout=60)
    status, answer = get(client, "pair", **key)
    assert answer["key"] == {
        "type": "query_product",
        "query": pair.query.normalized_text,
        "product": pair.product.external_id,
    }
    (group,) = answer["curated"]["relations"]
    assert group["relation"] == "capable_of" and group["count"] == 1
    (edge,) = group["edges"]
    assert edge["tail"] == candidates[0].tail and edge["candidate"] == candidates[0].pk
    assert edge["batch"] == ReviewBatch.objects.get().pk and set(edge["model_versions"]) == {"plausible", "typical"}
    assert edge["score"] == pytest.approx(0.97)
    assert answer["generated"] is None and answer["pending"] is False
    # the product's key gathers all six (one product bought after six searches), best first
    status, by_product = get(client, "product", product=pair.product.external_id)
    scores = [e["score"] for e in by_product["curated"]["relations"][0]["edges"]]
    assert by_product["curated"]["count"] == 6 and scores == sorted(scores, reverse=True)
    assert answer["snapshot"] == by_product["snapshot"] is not None


@pytest.mark.celery
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_unknown_query_is_pending_then_served_model_knowledge_after_the_worker(
    celery_worker_process: Any, api_client_for: Any
) -> None:
    client = api_client_for("serving")
    status, first = get(client, "query", query="Heated Gloves for Winter Cycling")
    assert status == 200
    assert first["found"] is False and first["pending"] is True and first["generated"] is None
    assert first["curated"]["count"] == 0

    def generated() -> bool:
        return get(client, "query", query="heated gloves for winter cycling")[1]["generated"] is not None

    assert wait_until(generated, timeout=60)
    status, later = get(client, "query", query="heated gloves for winter cycling")
    assert later["pending"] is False and later["found"] is False and later["curated"]["count"] == 0
    made = later["generated"]
    assert made["source"] == "model" and made["model"] == "scripted:scripted"
    assert {g["relation"] for g in made["relations"]} == {"used_for_function", "capable_of", "x_want"}
    tails = {e["tail"] for g in made["relations"] for e in g["edges"]}
    assert tails == {"everyday use", "keeping warm", "a gift for a friend"}
    assert made["judged_by"] is None  # no classifier is active: unjudged, scores null
    assert OutboxMessage.objects.filter(task=GENERATE_TASK).count() == 1  # the second lookup enqueued nothing
    # the generated tails also entered the pipeline as candidates of the query (plain heads)
    from knowledge.models import Candidate

    assert wait_until(
        lambda: Candidate.objects.filter(head_text__iexact="heated gloves for winter cycling").count() == 9
    )


def _storm_size(*, wanted: int, spare: int = 15, least: int = 16) -> int:
    """How many connections the storm may hold at once: the server's headroom, less a margin for the test's own
    workers and connections, at most `wanted`. CI's PostgreSQL allows 100 clients in all, so a storm of 100 beside
    the suite's workers once failed on "too many clients" instead of testing the claim."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int, (SELECT count(*) FROM pg_stat_activity)")
        allowed, in_use = cursor.fetchone()
    size = min(wanted, allowed - in_use - spare)
    assert size >= least, f"PostgreSQL allows {allowed} clients and {in_use} are in use: no room for a storm"
    return size


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_storm_of_concurrent_misses_for_one_key_enqueues_one_generation(monkeypatch: Any) -> None:
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    key = key_parse({"query": "self heating insoles"})
    storm = _storm_size(wanted=60)
    barrier = threading.Barrier(storm)
    answers: list[tuple[bytes | None, bool]] = []
    errors: list[BaseException] = []

    def miss() -> None:
        try:
            barrier.wait(timeout=60)
            answers.append(serving_generated_claim(key=key))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=miss) for _ in range(storm)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(answers) == storm
    assert all(pending and body is None for body, pending in answers)
    assert OutboxMessage.objects.filter(task=GENERATE_TASK).count() == 1
    assert GeneratedKnowledge.objects.get(key=key.key).claim == 1


@pytest.mark.django_db
def test_expired_or_refreshed_knowledge_is_served_while_one_new_generation_is_asked(
    monkeypatch: Any, settings: Any
) -> None:
    from serving.services import serving_generated_execute, serving_generated_refresh

    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    settings.PLAUSI_SERVING = {**settings.PLAUSI_SERVING, "FEED_PIPELINE": False}
    key = key_parse({"product": "B00TEST"})
    assert serving_generated_claim(key=key) == (None, True)
    entry = GeneratedKnowledge.objects.get(key=key.key)
    assert serving_generated_execute(entry_id=entry.pk, claim=1)
    assert not serving_generated_execute(entry_id=entry.pk, claim=1)  # a redelivery does nothing
    body, pending = serving_generated_claim(key=key)
    assert body is not None and not pending
    assert serving_generated_refresh(reason="a new model") == 1
    stale, pending = serving_generated_claim(key=key)
    assert stale == body and pending  # the old knowledge is served, marked pending, while one new one is asked
    assert serving_generated_claim(key=key)[1] is True
    assert list(OutboxMessage.objects.filter(task=GENERATE_TASK).values_list("args", flat=True)) == [
        [entry.pk, 1],
        [entry.pk, 2],
    ]
    assert not serving_generated_execute(entry_id=entry.pk, claim=1)  # a late worker of the old claim


@pytest.mark.django_db
def test_snapshots_can_be_pinned_and_pages_cut_every_relation(
    scored_pool: Any, api_client_for: Any, settings: Any
) -> None:
    settings.PLAUSI_SERVING = {**settings.PLAUSI_SERVING, "PAGE_SIZE": 2}
    candidates = scored_pool(5)
    curator = UserFactory(role="curator")
    approve_all(curator)
    first = serving_store_rebuild()
    product = candidates[0].pair.product.external_id
    client = api_client_for("serving")
    status, page1 = get(client, "product", product=product)
    assert page1["snapshot"] == first.pk and page1["curated"]["count"] == 5
    assert len(page1["curated"]["relations"][0]["edges"]) == 2 and page1["curated"]["relations"][0]["has_more"]
    status, page3 = get(client, "product", product=product, page=3)
    assert [e["candidate"] for e in page3["curated"]["relations"][0]["edges"]] == [
        e["candidate"]
        for e in get(client, "product", product=product, page_size=5)[1]["curated"]["relations"][0]["edges"]
    ][4:]
    curation.candidate_decide(candidate_id=candidates[0].pk, accept=False, curator=curator)
    from serving.services import serving_store_update

    second = serving_store_update(candidate=candidates[0].pk)
    assert second is not None and second.pk > first.pk
    assert get(client, "product", product=product)[1]["curated"]["count"] == 4
    status, pinned = get(client, "product", product=product, snapshot=first.pk)
    assert pinned["snapshot"] == first.pk and pinned["curated"]["count"] == 5
    assert serving_store_update(candidate=candidates[0].pk) is None  # nothing changed: no snapshot
    status, unknown = get(client, "product", product=product, snapshot=second.pk + 10)
    assert status == 400 and unknown["field"] == "snapshot"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("query", {}, "query"),
        ("query", {"query": "   "}, "query"),
        ("query", {"query": "x" * 501}, "query"),
        ("query", {"query": "boots", "page": "0"}, "page"),
        ("query", {"query": "boots", "page_size": "abc"}, "page_size"),
        ("query", {"query": "boots", "snapshot": "-1"}, "snapshot"),
        ("query", {"qeury": "boots"}, "qeury"),
        ("product", {"product": "a\x01b"}, "product"),
        ("pair", {"other_product": "B1", "query": "x"}, "product"),
        ("pair", {"query": "x"}, "product"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api_client_for: Any, route: str, params: dict[str, str], field: str
) -> None:
    status, body = get(api_client_for("serving"), route, **params)
    assert status == 400 and body["field"] == field and body["detail"].startswith(field)
    assert not GeneratedKnowledge.objects.exists()


@pytest.mark.django_db
def test_batch_lookups_answer_in_order_and_refuse_bad_keys_by_index(
    api_client_for: Any, monkeypatch: Any, settings: Any
) -> None:
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    settings.PLAUSI_SERVING = {**settings.PLAUSI_SERVING, "BATCH_MAX_KEYS": 3}
    client = api_client_for("serving")
    keys = [{"query": "a"}, {"product": "P1", "other_product": "P0"}, {"query": "b", "product": "P1"}]
    response = client.post("/api/serving/lookup/", {"keys": keys}, format="json")
    answer = orjson.loads(response.content)
    assert response.status_code == 200 and [r["key"]["type"] for r in answer["results"]] == [
        "query",
        "product_product",
        "query_product",
    ]
    assert answer["results"][1]["key"] == {"type": "product_product", "product": "P0", "other_product": "P1"}
    bad = client.post("/api/serving/lookup/", {"keys": [{"query": "a"}, {"product": ""}]}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "keys[1].product"
    many = client.post("/api/serving/lookup/", {"keys": keys + keys}, format="json")
    assert many.status_code == 400 and many.json()["field"] == "keys"


@pytest.mark.django_db
def test_only_serving_clients_curators_and_admins_read_and_a_serving_client_reads_nothing_else(
    api_client_for: Any,
) -> None:
    assert api_client_for(None).get("/api/serving/query/", {"query": "a"}).status_code == 401
    assert api_client_for("norole").get("/api/serving/query/", {"query": "a"}).status_code == 403
    assert api_client_for("annotator").get("/api/serving/query/", {"query": "a"}).status_code == 403
    assert api_client_for("curator").get("/api/serving/snapshots/").status_code == 200
    serving = api_client_for("serving")
    assert serving.get("/api/serving/snapshots/").status_code == 200
    assert serving.get("/api/candidates/").status_code == 403
    assert serving.get("/api/annotation/next/").status_code == 403


@pytest.mark.sqlite
@pytest.mark.django_db
def test_the_demo_path_builds_and_serves_on_either_database(scored_pool: Any, monkeypatch: Any) -> None:
    from serving.selectors import serving_lookup_one

    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    candidates = scored_pool(3, relation="used_for_function")
    approve_all(UserFactory(role="curator"))
    snapshot = serving_store_rebuild()
    pair = candidates[0].pair
    answer = orjson.loads(serving_lookup_one(key=key_parse({"query": pair.query.text})))
    assert answer["snapshot"] == snapshot.pk and answer["curated"]["count"] == 1
    assert ServingEntry.objects.filter(valid_to__isnull=True).count() == 3 + 1 + 3  # q, p, qp keys
    miss = orjson.loads(serving_lookup_one(key=ServingKey("query", query="never seen")))
    assert miss["pending"] is True and miss["found"] is False
    assert serving_generated_claim(key=ServingKey("query", query="never seen"))[1] is True
    assert OutboxMessage.objects.filter(task=GENERATE_TASK).count() == 1


@pytest.mark.django_db
def test_a_classifier_activation_refreshes_generated_knowledge_through_its_event(
    monkeypatch: Any, settings: Any
) -> None:
    from core.events import event_emit
    from serving.services import serving_generated_execute, serving_refresh_after_event

    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    settings.PLAUSI_SERVING = {**settings.PLAUSI_SERVING, "FEED_PIPELINE": False}
    key = key_parse({"query": "ski goggles"})
    serving_generated_claim(key=key)
    assert serving_generated_execute(entry_id=GeneratedKnowledge.objects.get().pk, claim=1)
    event_id = event_emit(name="model.activated", payload={"model_version": 1, "target": "typical"})
    assert OutboxMessage.objects.filter(task="serving.refresh", args=[event_id]).exists()
    assert serving_refresh_after_event(event_id=event_id) == 1
    body, pending = serving_generated_claim(key=key)
    assert body is not None and pending


@pytest.mark.django_db
def test_the_rebuild_command_writes_a_full_snapshot(scored_pool: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    scored_pool(2)
    approve_all(UserFactory(role="curator"))
    out = StringIO()
    call_command("serving_rebuild", "--no-progress", stdout=out)
    assert "keys" in out.getvalue() and ServingEntry.objects.filter(valid_to__isnull=True).count() == 2 + 1 + 2
