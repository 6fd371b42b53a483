"""COSMO-LM end to end on a tiny random model: ``train_lm`` on a small synthetic curated graph registers a version
that beats its untuned base on held-out judgements (ROC AUC and accuracy), with its data snapshot, artifact and
metrics; the run record shows progress; the API starts a run on the gpu queue that a task executes once."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.model_paths import model_root
from lm.models import LMTrainingRun, LMVersion
from tests.lm.conftest import TINY_PARAMS

pytestmark = pytest.mark.django_db


def test_train_lm_tunes_a_tiny_model_that_beats_its_untuned_base_on_held_out_judgements(tiny_base: str) -> None:
    out = io.StringIO()
    call_command(
        "train_lm",
        "--base",
        tiny_base,
        "--params",
        json.dumps(TINY_PARAMS),
        "--held-out-share",
        "0.25",
        "--no-progress",
        stdout=out,
    )
    version = LMVersion.objects.get()
    tuned, base = version.metrics["judgement"]["all"], version.base_metrics["judgement"]["all"]
    assert tuned["n"] == base["n"] > 20 and 0 < tuned["positives"] < tuned["n"]
    assert tuned["roc_auc"] > base["roc_auc"] and tuned["roc_auc"] >= 0.9
    assert tuned["accuracy"] > base["accuracy"] and tuned["accuracy"] >= 0.8
    for task in ("plausibility", "typicality"):  # each judgement task is learnt, not only their mix
        assert version.metrics["judgement"][task]["roc_auc"] > version.base_metrics["judgement"][task]["roc_auc"]
    generation = version.metrics["generation"]
    assert (
        generation["examples"] > 0 and generation["accepted"] is not None and generation["distinct_tails"] is not None
    )
    assert version.is_active and version.params["lora"] is True and version.base_model == tiny_base
    snapshot = version.data_snapshot
    assert snapshot["accepted_edges"]["count"] == 40 * 4 and snapshot["labelled_candidates"]["count"] == 40 * 4
    assert snapshot["split"]["held_out_share"] == 0.25
    folder = model_root() / version.artifact
    assert (folder / "adapter" / "adapter_model.safetensors").is_file() and (folder / "meta.json").is_file()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))
    examples = [json.loads(line) for line in (folder / "examples.jsonl").read_text().splitlines()]
    held_out = {e["group"] for e in examples if e["split"] == "held_out"}
    assert held_out and not held_out & {e["group"] for e in examples if e["split"] == "train"}  # no head on both
    run = version.training_run
    assert (
        run.status == "succeeded" and run.progress_fraction == 1.0 and run.counts["held_out"]["groups"] == len(held_out)
    )
    assert {"train_s", "evaluate_s", "evaluate_base_s"} <= set(run.timings)
    text = out.getvalue()
    assert "roc_auc" in text and "examples/s" in text
    from core.models import PipelineEvent

    assert PipelineEvent.objects.filter(name="lm.activated", payload__lm_version=version.pk).exists()


def test_the_api_queues_a_training_on_the_gpu_queue_that_one_task_executes_and_the_run_shows_it(
    tiny_base: str, api_client_for: Any, make_user: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.models import OutboxMessage
    from lm.services import lm_queue
    from lm.tasks import lm_training_run_execute_task

    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    url = reverse("api-lm-training-runs")
    assert api_client_for("curator").post(url, {}, format="json").status_code == 403
    admin = api_client_for("admin")
    bad = admin.post(url, {"params": {"epochs": -1}, "held_out_share": 2}, format="json")
    assert bad.status_code == 400 and "params" in bad.json() and "held_out_share" in bad.json()
    outside = admin.post(url, {"base_model": "/etc"}, format="json")
    assert outside.status_code == 400 and "base_model" in outside.json()
    params = {**TINY_PARAMS, "epochs": 1, "generation_examples": 2}
    queued = admin.post(url, {"params": params, "held_out_share": 0.25}, format="json")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    run = LMTrainingRun.objects.get(pk=queued.json()["id"])
    message = OutboxMessage.objects.get(task="lm.lm_training_run_execute", args=[run.pk])
    assert message.queue == lm_queue() and lm_queue().endswith("gpu")
    monkeypatch.setattr("lm.services.training.lm_base_model", lambda value="": tiny_base)  # the settings' default base
    lm_training_run_execute_task.apply(args=[run.pk], task_id="first-delivery")
    lm_training_run_execute_task.apply(args=[run.pk], task_id="a-duplicate")  # finds it finished: does nothing
    assert LMVersion.objects.count() == 1
    polled = admin.get(reverse("api-lm-training-run", args=[run.pk])).json()
    assert polled["status"] == "succeeded" and polled["progress"] == 1.0 and polled["version"] is not None
    assert polled["attempts"] == 1 and polled["counts"]["train"]["generate"] > 0
    versions = admin.get(reverse("api-lm-versions")).json()["results"]
    assert versions[0]["id"] == polled["version"] and versions[0]["base_metrics"]["summary"]["roc_auc"] is not None
    client.force_login(make_user("admin"))
    page = client.get(reverse("lm-version", args=[polled["version"]]))
    assert page.status_code == 200 and b"<meter" in page.content and b"roc_auc" in page.content
    listing = client.get(reverse("lm"))
    assert listing.status_code == 200 and f"api/lm/training-runs/{run.pk}/".encode() in listing.content
    client.force_login(make_user("curator"))
    assert client.get(reverse("lm")).status_code == 403


def test_activation_switches_the_live_version_and_emits_the_refresh_event(db: Any, tmp_path: Path) -> None:
    from core.models import PipelineEvent
    from lm.services import lm_version_activate

    first = LMVersion.objects.create(base_model="b", artifact="lm/run-1")
    second = LMVersion.objects.create(base_model="b", artifact="lm/run-2")
    lm_version_activate(version_id=first.pk)
    lm_version_activate(version_id=second.pk)
    lm_version_activate(version_id=second.pk)  # already active: no second event
    assert list(LMVersion.objects.filter(is_active=True)) == [second]
    events = list(PipelineEvent.objects.filter(name="lm.activated").order_by("id").values_list("payload", flat=True))
    assert events == [
        {"lm_version": first.pk, "artifact": "lm/run-1", "previous": None},
        {"lm_version": second.pk, "artifact": "lm/run-2", "previous": first.pk},
    ]


def test_generated_tails_are_checked_by_the_rules_and_an_unreadable_classifier_is_recorded_not_fatal(db: Any) -> None:
    from classifiers.ml.lm.data import LMExample
    from classifiers.models import ModelVersion
    from lm.services import GenerationChecker

    example = LMExample(task="generate", instruction="i", input='A shopper searched for "boots".', output="", group="g")
    checker = GenerationChecker()
    long_tail = " ".join(f"word{i}" for i in range(30))  # over the length rule's 16 tokens
    assert checker([(example, ["keep feet warm", long_tail]), (example, [])]) == [[True, False], []]
    assert checker.checked_by == ["filter configuration v1"]
    ModelVersion.objects.create(target="plausible", kind="tfidf_lr", artifact="missing", is_active=True, threshold=0.5)
    assert checker([(example, ["keep feet warm"])]) == [[True]]
    assert checker.checked_by[-1].startswith("classifiers unavailable")


def test_the_training_task_is_late_acknowledged_with_its_own_time_limits() -> None:
    from lm.tasks import lm_training_run_execute_task

    assert lm_training_run_execute_task.acks_late and lm_training_run_execute_task.reject_on_worker_lost
    assert lm_training_run_execute_task.time_limit > 3600 > 0
    assert lm_training_run_execute_task.soft_time_limit < lm_training_run_execute_task.time_limit
