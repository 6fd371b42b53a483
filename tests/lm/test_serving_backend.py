"""COSMO-LM behind the serving cache (docs/serving.md, docs/cosmo_lm.md): with ``SERVING_BACKEND=cosmo_lm`` a miss
is answered by the active version's generated tails, marked model-generated with the version that made them;
activating another version emits ``lm.activated``, whose hand-off marks the cached knowledge stale, and the next
generation loads the new version."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from django.core.management import call_command

from core.models import OutboxMessage
from lm.models import LMVersion
from tests.classifiers.lm_tiny import GOOD
from tests.lm.conftest import TINY_PARAMS

pytestmark = pytest.mark.django_db


def test_a_miss_is_answered_by_the_active_cosmo_lm_and_its_activation_refreshes_the_cache(
    tiny_base: str, monkeypatch: Any, settings: Any
) -> None:
    from lm.services import lm_version_activate
    from serving.generation import serving_generation_identity
    from serving.keys import key_parse
    from serving.models import GeneratedKnowledge
    from serving.selectors import serving_lookup_one
    from serving.services import (
        serving_generated_claim,
        serving_generated_execute,
        serving_refresh_after_event,
        serving_store_rebuild,
    )

    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    settings.PLAUSI_SERVING = {
        **settings.PLAUSI_SERVING,
        "BACKEND": "cosmo_lm",
        "MODEL": "",
        "FEED_PIPELINE": False,
        "RELATIONS": ["capable_of"],
    }
    params = {**TINY_PARAMS, "generation_examples": 0}
    call_command("train_lm", "--base", tiny_base, "--params", json.dumps(params), "--no-progress")
    first = LMVersion.objects.get(is_active=True)
    assert serving_generation_identity() == f"cosmo_lm:version-{first.pk}"

    serving_store_rebuild()
    key = key_parse({"query": "snow shoes 99"})
    body, pending = serving_generated_claim(key=key)
    assert pending
    entry = GeneratedKnowledge.objects.get()
    assert serving_generated_execute(entry_id=entry.pk, claim=1)
    answer = orjson.loads(serving_lookup_one(key=key))
    generated = answer["generated"]
    assert answer["pending"] is False and generated, answer
    tails = [edge["tail"] for group in generated["relations"] for edge in group["edges"]]
    assert tails and set(tails) <= set(GOOD)  # what the tuned model learnt, not the base's noise
    assert generated["model"] == f"cosmo_lm:version-{first.pk}"
    assert answer["curated"]["count"] == 0  # never mixed with curated edges

    second = LMVersion.objects.get(pk=first.pk)  # another registered version (same weights: training is not the point)
    run = second.training_run
    run.pk = None
    run.save()
    second.pk, second.is_active, second.training_run = None, False, run
    second.save()
    lm_version_activate(version_id=second.pk)
    message = OutboxMessage.objects.filter(task="serving.refresh").latest("pk")
    assert serving_refresh_after_event(event_id=message.args[0]) == 1
    assert serving_generation_identity() == f"cosmo_lm:version-{second.pk}"
    body, pending = serving_generated_claim(key=key)
    assert body is not None and pending  # the old version's knowledge served once more while a new one is made
