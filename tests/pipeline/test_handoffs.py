"""The hand-offs one by one, without a worker: each writes its outbox message with its cause, does its work once,
and does nothing when switched off; events reach the subscribers named in settings."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import QueueItem
from core.events import event_emit, subscriptions
from core.models import OutboxMessage, PipelineEvent
from curation.models import BatchMember, ReviewBatch
from curation.services import audit_answer, batch_decide
from knowledge.models import Candidate
from pipeline.handoffs import HANDOFFS, STAGES, handoff_run
from tests.conftest import search_buy
from tests.factories import CandidateFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_hand_off_joins_two_stages_and_every_event_driven_one_is_subscribed() -> None:
    stages = {name for name, _label in STAGES}
    assert all(h.source in stages and h.target in stages for h in HANDOFFS)
    subscribed = {s.name: s for s in subscriptions()}
    for handoff in HANDOFFS:
        if handoff.on_event:
            assert subscribed[handoff.name].event == handoff.trigger and subscribed[handoff.name].task == handoff.task
        else:
            assert handoff.name not in subscribed


def test_a_finished_filter_run_hands_its_pool_to_the_queue_once(settings: Any, ingest: Any, write_lines: Any) -> None:
    settings.PLAUSI_PIPELINE = {**settings.PLAUSI_PIPELINE, "queue_after_filter": True}
    from filtering.services import filter_run_claim, filter_run_create, filter_run_execute

    ingest(write_lines([search_buy("grip icy sidewalks"), search_buy("keep feet warm in deep snow")]))
    run = filter_run_create()
    assert filter_run_claim(run_id=run.pk)
    filter_run_execute(run_id=run.pk)
    event = PipelineEvent.objects.get(name="filter.succeeded")
    assert event.payload["filter_run"] == run.pk
    assert OutboxMessage.objects.filter(task="pipeline.queue_after_filter", args=[event.pk]).count() == 1
    pooled = Candidate.objects.filter(status="pooled").count()
    assert handoff_run(name="queue_after_filter", event_id=event.pk) == (pooled, pooled)
    assert handoff_run(name="queue_after_filter", event_id=event.pk) == (0, pooled)  # a redelivery adds nothing
    assert QueueItem.objects.count() == pooled


def test_review_batches_after_scoring_are_off_by_default_and_made_when_switched_on(
    settings: Any, scored_pool: Any
) -> None:
    scored_pool(12)
    event_id = event_emit(name="scoring.succeeded", payload={"scoring_run": 1})
    assert not OutboxMessage.objects.filter(task="pipeline.batches_after_scoring").exists()
    assert handoff_run(name="batches_after_scoring", event_id=event_id) == 0
    settings.PLAUSI_PIPELINE = {**settings.PLAUSI_PIPELINE, "batches_after_scoring": True}
    event_id = event_emit(name="scoring.succeeded", payload={"scoring_run": 2})
    assert OutboxMessage.objects.filter(task="pipeline.batches_after_scoring", args=[event_id]).exists()
    assert handoff_run(name="batches_after_scoring", event_id=event_id) == ReviewBatch.objects.count() == 1
    assert handoff_run(name="batches_after_scoring", event_id=event_id) == 0  # every candidate is batched


def test_an_approved_batch_tells_the_graph_subscribers_in_its_own_transaction(settings: Any, scored_pool: Any) -> None:
    settings.PLAUSI_PIPELINE_SUBSCRIBERS = {"graph.updated": ["serving.cache_refresh", "webhooks.deliver"]}
    from curation.services import review_batches_create

    scored_pool(10)
    (batch,) = review_batches_create(seed=5)
    curator = UserFactory(role="curator")
    for member in BatchMember.objects.filter(batch=batch, in_audit=True):
        audit_answer(batch_id=batch.pk, candidate_id=member.candidate_id, value=True, curator=curator)
    batch_decide(batch_id=batch.pk, approve=True, curator=curator)
    event = PipelineEvent.objects.get(name="graph.updated")
    assert event.payload == {"batch": batch.pk, "accepted": batch.size}
    sent = set(OutboxMessage.objects.filter(args=[event.pk]).values_list("task", flat=True))
    # the configured subscribers, and the feature store's own hand-off (serving.apps)
    assert sent == {"serving.cache_refresh", "webhooks.deliver", "serving.store_update"}


def test_a_hand_off_of_an_event_that_does_not_exist_does_nothing(settings: Any) -> None:
    settings.PLAUSI_PIPELINE = {**settings.PLAUSI_PIPELINE, "filter_after_ingest": True}
    CandidateFactory(status="ingested")
    assert handoff_run(name="filter_after_ingest", event_id=987654) is None
