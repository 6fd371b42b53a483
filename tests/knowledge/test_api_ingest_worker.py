"""POST /api/ingest/ end to end: the upload is queued on Redis and a real Celery worker process ingests it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from knowledge.models import Candidate, IngestRun
from tests.conftest import wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _finished(run_id: int) -> bool:
    return IngestRun.objects.filter(pk=run_id, status__in=["succeeded", "failed"]).exists()


def test_an_admin_upload_is_ingested_by_the_worker_and_shows_in_the_api(
    celery_worker_process: Any, api_client_for: Any
) -> None:
    client = api_client_for("admin")
    uploads = [
        SimpleUploadedFile("candidates.jsonl", (EXAMPLES / "candidates.jsonl").read_bytes()),
        SimpleUploadedFile("candidates.csv", (EXAMPLES / "candidates.csv").read_bytes()),
    ]
    response = client.post(reverse("api-ingest"), {"files": uploads}, format="multipart")
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    assert wait_until(lambda: _finished(run_id), timeout=60), "the worker did not finish the run"
    run = client.get(reverse("api-ingest-run", args=[run_id])).json()
    assert run["status"] == "succeeded", run["message"]
    assert run["progress"] == 1.0
    assert run["candidates_created"] == 3 and run["lines_valid"] == 6
    assert [entry["outcome"] for entry in run["files"]] == ["ingested", "ingested"]
    assert "path" not in run["files"][0]  # server paths stay private
    assert client.get(reverse("api-candidates")).json()["count"] == 3
    assert Candidate.objects.filter(ingest_run_id=run_id).count() == 3


def test_a_bad_upload_fails_on_the_worker_with_the_line_named_and_imports_nothing(
    celery_worker_process: Any, api_client_for: Any
) -> None:
    client = api_client_for("admin")
    bad = SimpleUploadedFile("bad.jsonl", b'{"head": "mug", "relation": "used_as", "tail": "cup"}\n{oops\n')
    response = client.post(reverse("api-ingest"), {"files": [bad]}, format="multipart")
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert wait_until(lambda: _finished(run_id), timeout=60)
    run = client.get(reverse("api-ingest-run", args=[run_id])).json()
    assert run["status"] == "failed"
    assert run["errors"][0]["line"] == 2 and run["errors"][0]["file"] == "bad.jsonl"
    assert Candidate.objects.count() == 0


def test_an_upload_while_the_broker_is_down_is_kept_in_the_outbox_and_runs_once_the_broker_is_back(
    celery_worker_process: Any, api_client_for: Any, settings: Any
) -> None:
    """Redis is down: the upload is accepted and nothing runs in the web process; the message to start the run
    waits in the outbox, and the relay publishes it once Redis is back, so the worker ingests the file once."""
    from config.celery import app
    from core.models import OutboxMessage
    from core.outbox import outbox_send

    def reconnect(broker_url: str) -> None:
        app.conf.broker_url = broker_url
        app._pool = None  # drop cached connections so the next publish dials the new address
        app.amqp._producer_pool = None

    original = app.conf.broker_url
    reconnect("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        upload = SimpleUploadedFile("c.jsonl", (EXAMPLES / "candidates.jsonl").read_bytes())
        response = api_client_for("admin").post(reverse("api-ingest"), {"files": [upload]}, format="multipart")
        assert response.status_code == 202, response.content
        run_id = response.json()["id"]
        assert outbox_send() == 0  # the relay cannot publish either while the broker is down
    finally:
        reconnect(original)
    time.sleep(1)
    run = IngestRun.objects.get(pk=run_id)
    assert run.status == "queued" and Candidate.objects.count() == 0  # nothing ran in the web process
    message = OutboxMessage.objects.get(sent_at__isnull=True)
    assert message.args == [run_id] and message.attempts == 2 and message.last_error
    assert outbox_send() == 1  # Redis is back: the relay publishes it
    assert wait_until(lambda: _finished(run_id), timeout=60)
    assert IngestRun.objects.get(pk=run_id).status == "succeeded" and Candidate.objects.count() > 0
    assert outbox_send() == 0  # published once
