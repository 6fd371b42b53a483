"""The scoring sweep's rules (issue 23), without a worker: a chunk whose claimant stopped beating goes back to
pending with a new message once, pending chunks of a progressing run are left to their messages, and those of a
run nothing works on get new messages at most once per RUN_STALE_SECONDS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from classifiers import services
from classifiers.models import ModelVersion, ScoringChunk, ScoringRun
from core.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(scored_pool: Any) -> ScoringRun:
    scored_pool(8)
    version = ModelVersion.objects.get(target="typical", is_active=True)
    started = services.scoring_run_start(version=version, chunk_size=2)
    assert started.chunks_total >= 3
    return started


def chunk_messages() -> list[int]:
    return [message.args[0] for message in OutboxMessage.objects.filter(task="classifiers.scoring_chunk_execute")]


def test_a_chunk_whose_claimant_stopped_beating_goes_back_to_pending_with_one_new_message(
    run: ScoringRun, settings: Any
) -> None:
    OutboxMessage.objects.all().delete()  # the run's first messages
    dead, alive = ScoringChunk.objects.filter(run=run).order_by("pk")[:2]
    long_ago = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS + 1)
    for chunk, beat in ((dead, long_ago), (alive, timezone.now())):
        assert services.scoring_chunk_claim(chunk_id=chunk.pk, claimer=f"worker-{chunk.pk}")
        ScoringChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=beat)
    ScoringRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())  # the run is progressing
    assert services.scoring_sweep() == 1
    dead.refresh_from_db()
    assert dead.status == "pending" and dead.claimed_by == "" and chunk_messages() == [dead.pk]
    assert ScoringChunk.objects.get(pk=alive.pk).status == "running"  # a live claimant keeps its chunk
    assert services.scoring_sweep() == 0  # once: the new message is on its way
    # the dead claimant's own message, given back by the broker later, finds it taken by the new one
    assert services.scoring_chunk_claim(chunk_id=dead.pk, claimer="new-message")
    assert not services.scoring_chunk_claim(chunk_id=dead.pk, claimer=f"worker-{dead.pk}")


def test_pending_chunks_get_new_messages_only_when_nothing_works_on_their_run(run: ScoringRun, settings: Any) -> None:
    OutboxMessage.objects.all().delete()
    pending = set(ScoringChunk.objects.filter(run=run).values_list("pk", flat=True))
    assert services.scoring_sweep() == 0  # just started: the messages are in the queue
    idle_since = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS + 1)
    ScoringRun.objects.filter(pk=run.pk).update(heartbeat_at=idle_since)
    assert services.scoring_sweep() == len(pending) and set(chunk_messages()) == pending
    assert services.scoring_sweep() == 0  # at most once per RUN_STALE_SECONDS


def test_a_pending_chunk_overtaken_in_its_queue_gets_a_new_message(run: ScoringRun, settings: Any) -> None:
    """A worker took the first chunk's message and died before claiming it: the chunks sent after it were claimed
    a while ago, so its message is gone; the sweep sends it again (seconds, not RUN_STALE_SECONDS)."""
    OutboxMessage.objects.all().delete()
    first, second = ScoringChunk.objects.filter(run=run).order_by("pk")[:2]
    assert services.scoring_chunk_claim(chunk_id=second.pk, claimer="a-live-worker")
    ScoringRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())  # progressing
    assert services.scoring_sweep() == 0  # claimed just now: the first may still be on its way to a worker
    a_while_ago = timezone.now() - dt.timedelta(seconds=3 * settings.RUN_HEARTBEAT_SECONDS + 1)
    ScoringChunk.objects.filter(run=run).update(enqueued_at=a_while_ago - dt.timedelta(seconds=1))
    ScoringChunk.objects.filter(pk=second.pk).update(claimed_at=a_while_ago, heartbeat_at=timezone.now())
    assert services.scoring_sweep() == 1 and chunk_messages() == [first.pk]
    assert services.scoring_sweep() == 0  # once: it was sent again just now, after everything claimed so far
    assert chunk_messages() == [first.pk]
