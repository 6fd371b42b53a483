"""Webhooks against PostgreSQL and a real HTTP receiver on loopback (tests/webhooks/receiver.py): the pipeline's
events become signed deliveries in their own transaction; attempts succeed, retry on the schedule, die when it is
spent, survive a dead claimant, never follow redirects; replays keep the webhook-id; the admin API and pages."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from classifiers.models import ModelVersion
from classifiers.services import model_version_activate
from core.errors import Conflict
from core.events import event_emit
from core.models import OutboxMessage, PipelineEvent
from core.runs import run_execute
from curation import services as curation
from curation.models import BatchMember, ExportRun
from tests.conftest import free_port
from tests.factories import UserFactory
from tests.webhooks.receiver import Receiver
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    deliveries_claim,
    deliveries_send,
    delivery_record,
    delivery_replay,
    webhook_endpoint_create,
    webhook_test_send,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.PLAUSI_WEBHOOKS = {**settings.PLAUSI_WEBHOOKS, "RETRY_SCHEDULE": [0, 0], "RETRY_JITTER": 0}


def _emit(name: str, **payload: Any) -> int:
    with transaction.atomic():
        return event_emit(name=name, payload=payload)


def test_an_event_becomes_one_delivery_per_subscribed_active_endpoint_in_its_own_transaction(db: Any) -> None:
    everything = webhook_endpoint_create(url="http://127.0.0.1:1/all", event_types=[])
    batches = webhook_endpoint_create(url="http://127.0.0.1:1/b", event_types=["batch.approved", "batch.rejected"])
    webhook_endpoint_create(url="http://127.0.0.1:1/off", event_types=[], is_active=False)

    event_id = _emit("ingest.succeeded", ingest_run=3, source="x", candidates_created=2)
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.endpoint, delivery.event_id, delivery.status) == (everything, event_id, "pending")
    assert delivery.payload["type"] == "ingest.succeeded" and delivery.payload["data"]["ingest_run"] == 3
    assert delivery.message_id.startswith("msg_")
    message = OutboxMessage.objects.get(task="webhooks.deliveries_send")
    assert message.args == [[delivery.pk]]

    _emit("batch.rejected", batch=1)
    assert set(WebhookDelivery.objects.filter(event_type="batch.rejected").values_list("endpoint", flat=True)) == {
        everything.pk,
        batches.pk,
    }
    assert len(set(WebhookDelivery.objects.filter(event_type="batch.rejected").values_list("message_id"))) == 1

    _emit("not.public", x=1)  # internal events stay internal
    assert WebhookDelivery.objects.count() == 3

    with pytest.raises(RuntimeError), transaction.atomic():  # the cause rolls back: no event, no delivery
        event_emit(name="export.succeeded", payload={"export_run": 1})
        raise RuntimeError
    assert WebhookDelivery.objects.count() == 3 and not PipelineEvent.objects.filter(name="export.succeeded").exists()


def test_a_delivery_is_signed_per_standard_webhooks_and_succeeds_on_a_2xx(db: Any) -> None:
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=["model.activated"])
    _emit("model.activated", model_version=4, target="typical")
    with Receiver(port, endpoint.secret) as receiver:
        assert deliveries_send() == {"succeeded": 1}
    delivery = WebhookDelivery.objects.get()
    (request,) = receiver.requests
    assert request.verified and request.path == "/hooks"
    assert request.headers["webhook-id"] == delivery.message_id
    assert request.payload == delivery.payload and request.payload["data"] == {"model_version": 4, "target": "typical"}
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_response) == (
        "succeeded",
        1,
        200,
        "ok",
    )
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert deliveries_send() == {}  # nothing due: a second message for it sends nothing


def test_an_endpoint_that_answers_500_is_retried_then_marked_dead(db: Any, fast_retries: None) -> None:
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=[])
    _emit("run.failed", kind="export", run=1, message="boom")
    with Receiver(port, endpoint.secret, status=500) as receiver:
        assert deliveries_send() == {"failed": 1}
        assert deliveries_send() == {"failed": 1}
        assert deliveries_send() == {"dead": 1}  # the schedule [0, 0]: three attempts in all
        assert deliveries_send() == {}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("dead", 3, 500)
    assert delivery.last_error == "HTTP 500" and delivery.last_response == "receiver says no"
    assert len(receiver.ids()) == 3 and set(receiver.ids()) == {delivery.message_id}  # one id on every retry


def test_a_refused_connection_schedules_a_retry_with_backoff(db: Any) -> None:
    webhook_endpoint_create(url=f"http://127.0.0.1:{free_port()}/hooks", event_types=[])
    _emit("export.succeeded", export_run=1)
    started = time.monotonic()
    assert deliveries_send() == {"failed": 1}
    took = time.monotonic() - started  # the delay counts from the attempt's end; a loaded machine makes it late
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None and "ConnectError" in delivery.last_error
    assert delivery.next_attempt_at is not None and delivery.last_attempt_at is not None
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert 4.0 <= wait <= 6.0 + took  # the first retry: 5 s +/- 20 % after the attempt
    assert deliveries_send() == {}  # not due yet


def test_redirects_are_not_followed(db: Any, fast_retries: None) -> None:
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=[])
    _emit("graph.updated", batch=1, accepted=3)
    with Receiver(port, endpoint.secret, status=307, location=f"http://127.0.0.1:{port}/elsewhere") as receiver:
        assert deliveries_send() == {"failed": 1}
    assert [request.path for request in receiver.requests] == ["/hooks"]
    assert WebhookDelivery.objects.get().last_status_code == 307


def test_a_claimant_that_died_mid_attempt_leaves_the_delivery_due_again_and_cannot_overwrite_it(db: Any) -> None:
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=[])
    _emit("ingest.succeeded", ingest_run=1)
    (lost,) = deliveries_claim()  # this worker "dies" before recording anything
    assert deliveries_claim() == []  # leased: nobody else takes it meanwhile
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))  # the lease ends
    with Receiver(port, endpoint.secret) as receiver:
        assert deliveries_send() == {"succeeded": 1}  # taken again, sent
    from webhooks.sender import Attempt

    late = Attempt(status_code=500, error="late", snippet="", delivered=False)
    assert delivery_record(delivery=lost, attempt=late) is None  # the overtaken claimant writes nothing
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2) and len(receiver.requests) == 1


def test_replay_sends_the_same_webhook_id_again_as_a_new_delivery(db: Any) -> None:
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=[])
    _emit("batch.approved", batch=2)
    original = WebhookDelivery.objects.get()
    with pytest.raises(Conflict):
        delivery_replay(delivery_id=original.pk)  # still on its way
    with Receiver(port, endpoint.secret) as receiver:
        deliveries_send()
        replay = delivery_replay(delivery_id=original.pk)
        assert deliveries_send(ids=[replay.pk]) == {"succeeded": 1}
    assert replay.replay_of == original and replay.message_id == original.message_id
    assert receiver.ids() == [original.message_id, original.message_id]
    assert receiver.requests[0].body == receiver.requests[1].body


def test_a_test_event_reaches_even_an_inactive_endpoint(db: Any) -> None:
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=[], is_active=False)
    delivery = webhook_test_send(endpoint_id=endpoint.pk, actor=UserFactory(role="admin", username="tester"))
    with Receiver(port, endpoint.secret) as receiver:
        assert deliveries_send() == {"succeeded": 1}
    assert receiver.requests[0].payload["type"] == "webhook.test"
    assert receiver.requests[0].payload["data"]["requested_by"] == "tester"
    assert delivery.event_id is None


# --- the events the pipeline emits (by addition) -----------------------------------------------------------------


def test_deciding_a_batch_emits_batch_approved_or_rejected_with_the_decision(scored_pool: Any) -> None:
    scored_pool(6)
    scored_pool(6, relation="used_for_function", category="Kitchen")
    first, second = curation.review_batches_create(seed=1)
    curator = UserFactory(role="curator")
    for member in BatchMember.objects.filter(in_audit=True):
        curation.audit_answer(batch_id=member.batch_id, candidate_id=member.candidate_id, value=True, curator=curator)
    curation.batch_decide(batch_id=first.pk, approve=True, curator=curator)
    curation.batch_decide(batch_id=second.pk, approve=False, curator=curator)
    approved = PipelineEvent.objects.get(name="batch.approved").payload
    assert approved["batch"] == first.pk and approved["accepted"] == first.size and approved["precision"] == 1.0
    assert approved["decided_by"] == curator.pk and approved["overridden"] is False
    rejected = PipelineEvent.objects.get(name="batch.rejected").payload
    assert rejected["batch"] == second.pk and rejected["accepted"] == 0 and rejected["precision"] == 1.0


def test_activating_a_model_emits_model_activated(db: Any) -> None:
    version = ModelVersion.objects.create(target="typical", kind="tfidf_lr", artifact="x")
    run = model_version_activate(version_id=version.pk)
    payload = PipelineEvent.objects.get(name="model.activated").payload
    assert payload == {
        "model_version": version.pk,
        "target": "typical",
        "kind": "tfidf_lr",
        "version_token": 1,
        "forced": False,
        "scoring_run": run.pk,
    }


def test_an_export_emits_export_succeeded_and_a_failed_run_emits_run_failed(
    scored_pool: Any, settings: Any, tmp_path: Any
) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    export = curation.export_run_create(format="jsonl", enqueue=False)
    assert curation.export_run_claim(run_id=export.pk)
    curation.export_run_execute(run_id=export.pk)
    payload = PipelineEvent.objects.get(name="export.succeeded").payload
    assert payload["export_run"] == export.pk and payload["format"] == "jsonl" and len(payload["sha256"]) == 64

    broken = curation.export_run_create(format="jsonl", enqueue=False)
    assert curation.export_run_claim(run_id=broken.pk)

    def work(handle: Any) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        run_execute(ExportRun, run_id=broken.pk, work=work)
    failed = PipelineEvent.objects.get(name="run.failed").payload
    assert failed == {"kind": "export", "run": broken.pk, "message": "OSError: disk full"}


# --- the API and the admin ---------------------------------------------------------------------------------------


def test_admins_register_endpoints_and_see_the_secret_once(api_client_for: Any) -> None:
    client = api_client_for("admin")
    url = reverse("api-webhook-endpoints")
    created = client.post(url, {"url": "https://example.com/h", "event_types": ["run.failed"]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_") and created.json()["event_types"] == ["run.failed"]
    listed = client.get(url).json()["results"]
    assert [row["url"] for row in listed] == ["https://example.com/h"] and "secret" not in listed[0]
    assert client.post(url, {"url": "ftp://example.com/"}, format="json").status_code == 400
    assert client.post(url, {"url": "https://x.org/", "event_types": ["nope"]}, format="json").status_code == 400


def test_the_delivery_log_filters_and_replays_over_the_api(api_client_for: Any) -> None:
    client = api_client_for("admin")
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:1/h")
    _emit("ingest.succeeded", ingest_run=1)
    _emit("run.failed", kind="ingest", run=1, message="m")
    WebhookDelivery.objects.filter(event_type="run.failed").update(status="dead")
    url = reverse("api-webhook-deliveries")
    assert client.get(url).json()["count"] == 2
    dead = client.get(url, {"status": "dead", "endpoint": endpoint.pk}).json()["results"]
    assert [row["event_type"] for row in dead] == ["run.failed"]
    assert dead[0]["payload"]["data"]["kind"] == "ingest" and dead[0]["endpoint_url"] == "http://127.0.0.1:1/h"
    assert client.get(url, {"event_type": "ingest.succeeded"}).json()["count"] == 1
    replay = client.post(reverse("api-webhook-delivery-replay", kwargs={"delivery_id": dead[0]["id"]}))
    assert replay.status_code == 201 and replay.json()["replay_of"] == dead[0]["id"]
    assert replay.json()["message_id"] == dead[0]["message_id"] and replay.json()["status"] == "pending"
    pending = WebhookDelivery.objects.get(event_type="ingest.succeeded")
    conflict = client.post(reverse("api-webhook-delivery-replay", kwargs={"delivery_id": pending.pk}))
    assert conflict.status_code == 409
    missing = client.post(reverse("api-webhook-delivery-replay", kwargs={"delivery_id": 987654}))
    assert missing.status_code == 404
    test = client.post(reverse("api-webhook-endpoint-test", kwargs={"endpoint_id": endpoint.pk}))
    assert test.status_code == 201 and test.json()["event_type"] == "webhook.test"


def test_the_admin_adds_endpoints_sends_test_events_and_replays_deliveries(admin_client: Any) -> None:
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"url": "http://127.0.0.1:1/hooks", "description": "ops", "event_types": ["batch.approved"], "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["batch.approved"] and endpoint.secret.startswith("whsec_")
    page = admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret in page.content.decode()  # admins read it to configure the receiver
    refused = admin_client.post(reverse("admin:webhooks_webhookendpoint_add"), {"url": "ftp://x/", "is_active": "on"})
    assert refused.status_code == 200 and WebhookEndpoint.objects.count() == 1
    admin_client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "send_test_event", "_selected_action": [endpoint.pk]},
    )
    test = WebhookDelivery.objects.get(event_type="webhook.test")
    test.status = "dead"
    test.save()
    log = reverse("admin:webhooks_webhookdelivery_changelist")
    assert admin_client.get(log, {"status__exact": "dead"}).status_code == 200
    admin_client.post(log, {"action": "replay", "_selected_action": [test.pk]})
    assert WebhookDelivery.objects.filter(replay_of=test, message_id=test.message_id).exists()


def test_only_admins_reach_the_webhooks_api(api_client_for: Any) -> None:
    for role in ("annotator", "curator"):
        assert api_client_for(role).get(reverse("api-webhook-deliveries")).status_code == 403


def test_an_ingest_refused_whole_emits_run_failed(ingest: Any, write_lines: Any) -> None:
    run = ingest(write_lines(["not a record"]))
    assert run.status == "failed"
    assert PipelineEvent.objects.get(name="run.failed").payload["kind"] == "ingest"
    assert PipelineEvent.objects.get(name="run.failed").payload["run"] == run.pk
