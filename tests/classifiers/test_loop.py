"""The classifier loop without a worker: labels -> training run -> registry -> scoring chunks -> scored pool."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from classifiers import selectors, services
from classifiers.models import CandidateScore, ModelVersion, ScoringChunk, ScoringRun, TrainingRun
from knowledge.models import Candidate
from tests.classifiers.helpers import labelled_pool

pytestmark = pytest.mark.django_db


def train(target: str, **options: Any) -> TrainingRun:
    run = services.training_run_request(target=target, **options)
    assert run is not None
    assert services.training_run_claim(run_id=run.pk)
    return services.training_run_execute(run_id=run.pk)


def score_everything() -> None:
    for run in ScoringRun.objects.filter(status="running"):
        for chunk in run.chunks.filter(status="pending"):
            assert services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="test")
            services.scoring_chunk_execute(chunk_id=chunk.pk, claimer="test")


def test_gate_failures_are_negatives_and_undecided_labels_are_left_out() -> None:
    labelled, _pool = labelled_pool(repeat=1, unlabelled=0)
    labels = selectors.target_labels("typical")
    assert sorted(labels.values()) == [0] * 6 + [1] * 6
    assert all(
        labels[c.pk] == (0 if c.tail.split()[0] in {"be", "the", "buy", "is", "a", "winter"} else 1) for c in labelled
    )


def test_training_registers_an_active_version_that_scores_the_pool_and_marks_passing_candidates_scored(
    settings: Any,
) -> None:
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "CHUNK_SIZE": 7, "TARGET_PRECISION": 0.8}
    labelled, pool = labelled_pool()
    for target in ("plausible", "typical"):
        run = train(target)
        assert run.status == "succeeded", run.message
        assert run.label_count == len(labelled)
    versions = selectors.active_versions()
    assert set(versions) == {"plausible", "typical"}
    version = versions["typical"]
    assert version.metrics["roc_auc"] > 0.9 and version.threshold is not None
    assert {"macro_f1", "calibration", "at_thresholds", "precision_at_threshold"} <= set(version.metrics)
    assert version.promotion["activate"] and version.version_token
    scoring = ScoringRun.objects.filter(model_version=version).get()
    assert scoring.chunks_total == ScoringChunk.objects.filter(run=scoring).count() > 1
    score_everything()
    scoring.refresh_from_db()
    assert scoring.status == "succeeded" and scoring.progress_done == scoring.progress_total == len(labelled) + len(
        pool
    )
    scored = CandidateScore.objects.filter(target="typical")
    assert scored.count() == len(labelled) + len(pool)  # one score per candidate, none twice
    statuses = dict(Candidate.objects.filter(pk__in=[c.pk for c in pool]).values_list("tail", "status"))
    assert statuses["grip icy sidewalks again"] == "scored"
    assert statuses["the product again"] == "pooled"
    assert not Candidate.objects.filter(pk__in=[c.pk for c in labelled], status="scored").exists()


def test_a_challenger_without_a_significant_gain_is_kept_back_unless_an_admin_forces_it(api_client_for: Any) -> None:
    labelled_pool()
    assert train("typical").status == "succeeded"
    first = ModelVersion.objects.get(target="typical", is_active=True)
    run = train("typical", kind="tfidf_lr", params={"c": 0.001})  # another recipe: it must earn its place
    assert run.status == "succeeded", run.message
    worse = ModelVersion.objects.get(training_run=run)
    decision = worse.promotion
    assert not worse.is_active and "kept the active" in decision["reason"]
    assert "not a significant improvement" in decision["reason"] and "95% interval" in decision["reason"]
    assert decision["active_auc"] > 0.9 and decision["compared_with"] == first.pk
    row = decision["comparison"][0]
    assert row["low"] is not None and row["low"] <= 0 <= row["high"] + 1e-9
    admin = api_client_for("admin")
    url = reverse("api-classifier-activate", args=[worse.pk])
    assert admin.post(url, {}, format="json").status_code == 409
    assert api_client_for("curator").post(url, {"force": True}, format="json").status_code == 403
    response = admin.post(url, {"force": True}, format="json")
    assert response.status_code == 202 and response.json()["model_version"] == worse.pk
    worse.refresh_from_db()
    first.refresh_from_db()
    assert worse.is_active and not first.is_active
    assert (worse.version_token or 0) > (first.version_token or 0)
    assert worse.promotion["forced_by_admin"]


def test_an_equal_or_better_retraining_replaces_the_active_version() -> None:
    labelled_pool()
    first = ModelVersion.objects.get(training_run=train("typical"))
    second = ModelVersion.objects.get(training_run=train("typical"))
    first.refresh_from_db()
    assert second.is_active and not first.is_active  # the same recipe on the labels there are now
    assert "active recipe (tfidf_lr) retrained" in second.promotion["reason"]
    assert "same folds" in second.promotion["reason"]


def test_training_is_single_flight_per_target() -> None:
    labelled_pool(repeat=1)
    first = services.training_run_request(target="typical")
    assert first is not None
    assert services.training_run_request(target="typical") is None
    assert services.training_run_request(target="plausible") is not None


def test_too_few_labels_fail_the_run_with_a_reason() -> None:
    run = train("typical")
    assert run.status == "failed" and "training needs at least" in run.message
    assert not ModelVersion.objects.exists()


def test_retraining_is_triggered_by_new_labels_once_per_batch(settings: Any) -> None:
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "RETRAIN_EVERY": 50}
    labelled_pool(repeat=1)
    requested = services.retraining_check()
    assert {run.target for run in requested} == {"plausible", "typical"}
    TrainingRun.objects.update(status="succeeded")
    ModelVersion.objects.create(target="typical", kind="tfidf_lr", artifact="x")
    assert services.retraining_check() == []  # no new labels since
    from annotation.models import NewLabelCount

    NewLabelCount.objects.filter(question__slug="complete").update(count=10_000)
    assert {run.target for run in services.retraining_check()} == {"plausible", "typical"}


def test_an_older_version_token_never_overwrites_a_newer_score() -> None:
    _labelled, pool = labelled_pool(repeat=1, unlabelled=2)
    version = ModelVersion.objects.create(target="typical", kind="tfidf_lr", artifact="x")
    ids = np.array([pool[0].pk, pool[1].pk])
    assert services.scores_write(ids=ids, scores=np.array([0.9, 0.8]), version=version, token=5) == 2
    services.scores_write(ids=ids, scores=np.array([0.1, 0.1]), version=version, token=4)  # a late, older task
    assert sorted(CandidateScore.objects.values_list("score", flat=True)) == [0.8, 0.9]
    services.scores_write(ids=ids, scores=np.array([0.2, 0.3]), version=version, token=6)
    assert sorted(CandidateScore.objects.values_list("score", flat=True)) == [0.2, 0.3]
    assert CandidateScore.objects.count() == 2


def test_chunk_claims_admit_one_claimer_a_redelivery_of_the_same_task_and_a_stale_takeover(settings: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    version = ModelVersion.objects.create(
        target="typical", kind="tfidf_lr", artifact="x", is_active=True, version_token=1
    )
    run = ScoringRun.objects.create(model_version=version, version_token=1, status="running")
    chunk = ScoringChunk.objects.create(run=run, start_id=1, end_id=10)
    assert services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-a")
    assert not services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-b")
    # redelivered while its claimant still beats (it outlived the visibility timeout): not a second execution
    assert not services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-a")
    missed = timezone.now() - dt.timedelta(seconds=3 * settings.RUN_HEARTBEAT_SECONDS + 1)
    ScoringChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=missed)
    assert services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-a")  # redelivered after its worker died
    assert not services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-b")
    stale = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS + 1)
    ScoringChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=stale)
    assert services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-b")
    ScoringChunk.objects.filter(pk=chunk.pk).update(status="done")
    assert not services.scoring_chunk_claim(chunk_id=chunk.pk, claimer="task-b")


def test_feature_rows_are_cached_per_range_and_reused(settings: Any) -> None:
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "CHUNK_SIZE": 1000}
    labelled_pool(repeat=1)
    assert train("typical").status == "succeeded"
    score_everything()
    store = services.feature_store()
    run = ScoringRun.objects.get()
    chunk = run.chunks.get()
    cached = store.get(chunk.start_id, chunk.end_id)
    assert cached is not None and len(cached[0]) == Candidate.objects.count()
    ids = selectors.scorable_ids_in_range(chunk.start_id, chunk.end_id)
    found, rows, computed = store.rows_for(
        chunk.start_id,
        chunk.end_id,
        ids,
        selectors.candidate_examples,
        lambda examples: pytest.fail("nothing should be recomputed"),
    )
    assert computed == 0 and rows.shape[0] == len(found) == len(ids)


def test_uncertainty_feeds_the_annotation_priority(settings: Any) -> None:
    from annotation.models import QueueItem
    from annotation.services import queue_fill
    from classifiers.selectors import classifier_uncertainty
    from core.models import OutboxMessage, PipelineEvent
    from pipeline.handoffs import handoff_run

    settings.PLAUSI_PIPELINE = {**settings.PLAUSI_PIPELINE, "priorities_after_scoring": True}
    labelled_pool(repeat=1, unlabelled=4)
    queue_fill()
    assert train("typical").status == "succeeded"
    score_everything()
    uncertainty = classifier_uncertainty()
    assert uncertainty and all(0.0 <= value <= 1.0 for value in uncertainty.values())
    # the finished scoring run handed its uncertainties on: an event, and the hand-off's message naming it
    event = PipelineEvent.objects.get(name="scoring.succeeded")
    assert OutboxMessage.objects.filter(task="pipeline.priorities_after_scoring", args=[event.pk]).exists()
    assert handoff_run(name="priorities_after_scoring", event_id=event.pk) == QueueItem.objects.count()
    # With a model that beats chance and no random share, the order follows the uncertainty it was handed
    # (issue 21: priorities are positions; the uncertainty decides the order within a stratum's round).
    from annotation.priorities import queue_priorities_recompute

    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "RANDOM_SHARE": 0.0}
    ready = {"model_auc": 0.9, "model_auc_low": 0.8, "scores": None}
    queue_priorities_recompute(uncertainty=uncertainty, **ready)
    following = dict(QueueItem.objects.values_list("candidate_id", "priority"))
    queue_priorities_recompute(uncertainty={key: 1.0 - value for key, value in uncertainty.items()}, **ready)
    inverted = dict(QueueItem.objects.values_list("candidate_id", "priority"))
    if max(uncertainty.values()) - min(uncertainty.values()) > 0.2:
        assert following != inverted  # the uncertainty term counts


def test_the_api_lists_versions_runs_and_the_learning_curve_and_only_admins_request_trainings(
    api_client_for: Any,
) -> None:
    labelled_pool(repeat=1)
    assert train("typical").status == "succeeded"
    curator = api_client_for("curator")
    versions = curator.get(reverse("api-classifier-versions")).json()["results"]
    assert versions[0]["target"] == "typical" and versions[0]["is_active"]
    curve = curator.get(reverse("api-learning-curve")).json()["targets"]["typical"]
    assert curve[0]["labels"] == 12 and curve[0]["roc_auc"] is not None
    assert curator.post(reverse("api-training-runs"), {"target": "typical"}, format="json").status_code == 403
    assert api_client_for("annotator").get(reverse("api-classifier-versions")).status_code == 403
    admin = api_client_for("admin")
    response = admin.post(reverse("api-training-runs"), {"target": "typical"}, format="json")
    assert response.status_code == 202, response.content
    again = admin.post(reverse("api-training-runs"), {"target": "typical"}, format="json")
    assert again.status_code == 409
    bad = admin.post(reverse("api-training-runs"), {"target": "nonsense", "kind": "magic"}, format="json")
    assert bad.status_code == 400 and {"target", "kind"} <= set(bad.json())
    run_id = response.json()["id"]
    assert curator.get(reverse("api-training-run", args=[run_id])).json()["status"] == "queued"


def test_training_parameters_with_a_null_character_are_a_400_not_a_database_error(api_client_for: Any) -> None:
    response = api_client_for("admin").post(
        reverse("api-training-runs"), {"target": "typical", "params": {"C": ["a\u0000b"]}}, format="json"
    )
    assert response.status_code == 400 and "params" in response.json()
    assert not TrainingRun.objects.exists()


def test_the_versions_are_filtered_by_a_known_target_only(api_client_for: Any) -> None:
    curator = api_client_for("curator")
    assert curator.get(reverse("api-classifier-versions"), {"target": "typical"}).json()["count"] == 0
    for target in ("bogus", "typ\x00ical"):
        response = curator.get(reverse("api-classifier-versions"), {"target": target})
        assert response.status_code == 400 and "target" in response.json(), target


def test_the_classifiers_page_shows_versions_and_runs_to_curators_only(client: Any) -> None:
    from tests.factories import UserFactory

    labelled_pool(repeat=1)
    assert train("typical").status == "succeeded"
    client.force_login(UserFactory(role="annotator"))
    assert client.get(reverse("classifiers")).status_code == 403
    client.force_login(UserFactory(role="curator"))
    page = client.get(reverse("classifiers"))
    assert page.status_code == 200
    assert b"Learning curve" in page.content and b"first version of this target" in page.content


def test_the_encoder_model_trains_and_scores_with_vectors_cached_once_per_text(tmp_path: Any) -> None:
    from classifiers.ml.features import joint_text
    from filtering.models import TextEmbedding
    from tests.classifiers.test_ml import tiny_bert

    labelled_pool(repeat=2, unlabelled=4)
    run = train("typical", kind="encoder_lr", params={"encoder_path": tiny_bert(tmp_path / "bert")})
    assert run.status == "succeeded", run.message
    cached = TextEmbedding.objects.count()
    examples = selectors.candidate_examples(list(Candidate.objects.values_list("pk", flat=True)))
    texts = {t for e in examples.values() for t in (e.head, e.tail, joint_text(e))}  # the joint text is encoded too
    labelled_texts = {
        t
        for c, e in examples.items()
        if c in selectors.target_labels("typical")
        for t in (e.head, e.tail, joint_text(e))
    }
    assert len(labelled_texts) <= cached <= len(texts)  # each text of the training set encoded (and stored) once
    score_everything()
    assert CandidateScore.objects.filter(target="typical").count() == Candidate.objects.count()
    assert TextEmbedding.objects.count() == len(texts)  # scoring encoded only the texts training had not seen
    services.scoring_run_start(version=ModelVersion.objects.get(target="typical", is_active=True))
    score_everything()  # a rescoring encodes nothing
    assert TextEmbedding.objects.count() == len(texts)


def test_a_training_parameter_the_model_does_not_take_is_refused_before_anything_is_queued(
    api_client_for: Any,
) -> None:
    admin = api_client_for("admin")
    response = admin.post(reverse("api-training-runs"), {"target": "typical", "params": {"C": 2.0}}, format="json")
    assert response.status_code == 400 and "'C'" in response.json()["detail"]
    assert not TrainingRun.objects.exists()
    accepted = admin.post(reverse("api-training-runs"), {"target": "typical", "params": {"c": 2.0}}, format="json")
    assert accepted.status_code in (201, 202), accepted.content
    assert TrainingRun.objects.get().params["c"] == 2.0


def test_cached_feature_rows_belong_to_one_candidate_table() -> None:
    """Rows are cached by candidate id; a restored or recreated table reuses ids for other texts, so the cache's
    folder is named by the table's own identity (its OID here), never shared with another table's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), 'knowledge_candidate'::regclass::oid")
        database, oid = cursor.fetchone()
    store = services.feature_store()
    assert store.folder.parent.name == f"{database}-{oid}"
    assert store.folder.name.startswith("hashed-")
