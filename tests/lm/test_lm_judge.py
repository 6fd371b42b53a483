"""The ``lm_judge`` classifier kind through the classifiers' registry: trained by a training run on a tiny random
Llama, registered and activated, scoring the pool through the scoring chunks, compared with by the next training
and refused bad parameters by the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from classifiers import selectors, services
from classifiers.ml.lm.data import JUDGEMENT_INSTRUCTIONS, judgement_input
from classifiers.models import CandidateScore, ModelVersion, ScoringRun
from tests.classifiers.helpers import labelled_pool
from tests.classifiers.lm_tiny import tiny_lm

pytestmark = pytest.mark.django_db

JUDGE_PARAMS = {"epochs": 12, "batch_size": 8, "learning_rate": 3e-3, "lora_r": 16, "max_length": 96}


def _tiny_judge_base(folder: Path, candidate_ids: list[int]) -> str:
    examples = selectors.candidate_examples(candidate_ids).values()
    texts = [judgement_input(e.head, e.relation, e.tail) for e in examples] + list(JUDGEMENT_INSTRUCTIONS.values())
    return tiny_lm(folder, texts=texts)


def test_lm_judge_trains_registers_scores_the_pool_and_is_compared_with_like_any_kind(tmp_path: Path) -> None:
    labelled, pool = labelled_pool(repeat=3, unlabelled=10)
    base = _tiny_judge_base(tmp_path / "base", [c.pk for c in labelled + pool])
    run = services.training_run_request(target="typical", kind="lm_judge", params={"base_model": base, **JUDGE_PARAMS})
    assert run is not None and run.params["question"] == "typical"
    assert services.queue_for("lm_judge").endswith("gpu")
    assert services.training_run_claim(run_id=run.pk)
    run = services.training_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.message
    version = ModelVersion.objects.get(training_run=run)
    assert version.kind == "lm_judge" and version.is_active and version.metrics["roc_auc"] is not None
    scoring = ScoringRun.objects.get(model_version=version)
    for chunk in scoring.chunks.all():
        assert services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="test")
        services.scoring_chunk_execute(chunk_id=chunk.pk, claimer="test")
    scores = list(
        CandidateScore.objects.filter(target="typical", candidate__in=pool).values_list("candidate__tail", "score")
    )
    assert len(scores) == len(pool)
    bad_words = {"be", "the", "buy", "is", "a", "winter"}
    good = [s for tail, s in scores if tail.split()[0] not in bad_words]
    bad = [s for tail, s in scores if tail.split()[0] in bad_words]
    assert np.mean(good) > np.mean(bad)  # P(yes) learnt the labels' signal on unlabelled candidates
    # the next training (another kind) is compared with the active LM judge refitted on the same folds
    second = services.training_run_request(target="typical", kind="tfidf_lr")
    assert second is not None and services.training_run_claim(run_id=second.pk)
    second = services.training_run_execute(run_id=second.pk)
    promotion = ModelVersion.objects.get(training_run=second).promotion
    assert promotion["compared_with"] == version.pk and promotion["active_auc"] is not None


def test_the_api_checks_lm_judge_parameters(api_client_for: Any) -> None:
    admin = api_client_for("admin")
    url = reverse("api-training-runs")
    bad = admin.post(
        url, {"target": "typical", "kind": "lm_judge", "params": {"base_model": "/etc", "epochs": 0}}, format="json"
    )
    assert bad.status_code == 400 and {"base_model", "epochs"} <= set(bad.json()["params"])
    unknown = admin.post(url, {"target": "typical", "kind": "lm_judge", "params": {"temperature": 1}}, format="json")
    assert unknown.status_code == 400 and "temperature" in unknown.json()["detail"]
