"""A receiver that is down gets every event once after it returns: a real Celery worker and Celery beat (the
sweep) on Redis and PostgreSQL, a real HTTP receiver on loopback whose port stays closed for a while.

The outage lasts ``DOWN_SECONDS`` (20 by default, so that ``make test`` stays near its 15 minutes; the issue's
literal minute with ``PLAUSI_TEST_WEBHOOK_DOWN_SECONDS=60``) under a fast retry schedule (retries 1-3 s apart, a
sweep every second); production's schedule is 5 s, 30 s, 2 min, 10 min ... (docs/webhooks.md). The outcome does not
depend on the length of the outage, only on the schedule outlasting it: every delivery fails several times while
the receiver is down (asserted) and is then delivered once."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from core.events import event_emit
from tests.conftest import (
    ROOT,
    child_database_url,
    free_port,
    process_stop,
    spawn_logged,
    start_celery_worker,
    stop_celery_worker,
    wait_until,
)
from tests.webhooks.receiver import Receiver
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DOWN_SECONDS = float(os.environ.get("PLAUSI_TEST_WEBHOOK_DOWN_SECONDS", "20"))  # 60: the literal minute
EVENTS = ["ingest.succeeded", "batch.approved", "batch.rejected", "model.activated", "export.succeeded", "run.failed"]


@pytest.fixture
def own_broker() -> Iterator[str]:
    """A Redis database of its own: the session's worker (default settings) must not take these tasks."""
    url = "redis://127.0.0.1:6379/12"
    yield url
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}*"))
    if keys:
        client.delete(*keys)


def test_a_receiver_that_was_down_gets_every_event_exactly_once_after_it_returns(
    tmp_path: Path, own_broker: str
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": child_database_url(),
        "TEST_CELERY_BROKER_URL": own_broker,
        "WEBHOOK_RETRY_SCHEDULE": ",".join(["1"] + ["3"] * 60),  # ~180 s of retries: outlasts the outage
        "WEBHOOK_RETRY_JITTER": "0.2",
        "WEBHOOK_SWEEP_SECONDS": "1",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "OUTBOX_FLUSH_SECONDS": "1",
    }
    port = free_port()
    endpoint = webhook_endpoint_create(url=f"http://127.0.0.1:{port}/hooks", event_types=[])
    (ROOT / "var").mkdir(exist_ok=True)
    worker = start_celery_worker(queues="default", log_name="test-webhooks-worker.log", extra_env=env)
    beat = spawn_logged(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule", str(tmp_path / "beat-schedule")],
        env,
        "test-webhooks-beat.log",
    )
    try:
        for number, name in enumerate(EVENTS):
            with transaction.atomic():
                event_emit(name=name, payload={"n": number})
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
        assert deliveries.count() == len(EVENTS)

        # the receiver is down: every delivery is tried, fails and is retried, none is given up
        down_until = time.monotonic() + DOWN_SECONDS
        assert wait_until(lambda: all(d.attempts >= 2 for d in deliveries.all()), timeout=DOWN_SECONDS), (
            f"not retried: {list(deliveries.values_list('status', 'attempts', 'last_error'))}; see var/test-webhooks-*"
        )
        time.sleep(max(0.0, down_until - time.monotonic()))
        assert set(deliveries.values_list("status", flat=True)) == {"failed"}
        assert "ConnectError" in deliveries.first().last_error
        attempts_while_down = sum(deliveries.values_list("attempts", flat=True))
        assert all(attempts >= 3 for attempts in deliveries.values_list("attempts", flat=True))  # retried, kept

        # it comes back: every event arrives, signed, once
        with Receiver(port, endpoint.secret) as receiver:
            assert wait_until(lambda: set(deliveries.values_list("status", flat=True)) == {"succeeded"}, timeout=30), (
                f"{list(deliveries.values_list('status', 'attempts', 'last_error'))}; see var/test-webhooks-*"
            )
            time.sleep(3)  # a few more sweeps: nothing is sent again
        ids = receiver.ids()
        assert sorted(ids) == sorted(deliveries.values_list("message_id", flat=True)) and len(set(ids)) == len(EVENTS)
        assert all(request.verified for request in receiver.requests)
        assert sorted(request.payload["type"] for request in receiver.requests) == sorted(EVENTS)
        print(
            f"down {DOWN_SECONDS} s: {attempts_while_down} failed attempts for {len(EVENTS)} events; "
            f"after it returned: {len(ids)} requests, {len(set(ids))} distinct webhook-ids"
        )
    finally:
        process_stop(beat)
        stop_celery_worker(worker)
