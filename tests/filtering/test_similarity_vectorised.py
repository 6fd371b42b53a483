"""The set-based similarity filter of issue 22 decides as the per-row computation it replaced: head cosines,
near-duplicate groups and the TF-IDF fit, on small samples, to 1e-6 (pure code, no DB)."""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from filtering import encoders, similarity
from filtering.similarity import TfidfEncoder, embed_with_cache, near_duplicate_groups, similarity_filter
from filtering.types import CandidateText

WORDS = [
    "keep",
    "feet",
    "warm",
    "walk",
    "the",
    "dog",
    "cook",
    "eggs",
    "winter",
    "boots",
    "baby",
    "carrier",
    "newborn",
    "coffee",
    "mug",
    "garden",
    "hose",
]


def sample(count: int, seed: int) -> list[CandidateText]:
    """Candidates over a few heads and relations, many tails repeated or nearly so (groups of every size)."""
    rng = random.Random(seed)
    tails = [" ".join(rng.choices(WORDS, k=rng.randint(2, 5))) for _ in range(count // 8)]
    out = []
    for cid in range(1, count + 1):
        head = rng.choice(["h1", "h2", "h3", "h4", "h5", f"solo{cid}"])
        tail = rng.choice(tails) + rng.choice(["", "", " now", "s"])
        out.append(
            CandidateText(
                id=cid,
                relation=rng.choice(["used_for", "used_by"]),
                tail=tail,
                tail_norm=tail,
                head_key=head,
                query=f"{WORDS[len(head) % 7]} {WORDS[sum(map(ord, head)) % 16]} {head}",  # one head, one text
                titles=(f"{WORDS[len(head)]} item",) if head != "h5" else (),
                support=rng.randint(1, 3),
            )
        )
    return out


def reference_groups(candidates: list[CandidateText], rows: np.ndarray, threshold: float) -> list[tuple]:
    """The previous per-row algorithm: per (head, relation), in (support desc, id) order, each tail joins the
    first earlier representative whose cosine (one dot product at a time) is >= threshold."""
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, c in enumerate(candidates):
        by_key[(c.head_key, c.relation)].append(row)
    groups = []
    for members in by_key.values():
        members.sort(key=lambda row: (-candidates[row].support, candidates[row].id))
        representatives: list[int] = []
        joined: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for row in members:
            for rep in representatives:
                cosine = float(np.dot(rows[row], rows[rep]))
                if cosine >= threshold:
                    joined[rep].append((row, cosine))
                    break
            else:
                representatives.append(row)
        for rep in sorted(joined, key=lambda rep: members.index(joined[rep][0][0])):
            ids = (candidates[rep].id, *(candidates[row].id for row, _ in joined[rep]))
            groups.append((ids, (1.0, *(cosine for _, cosine in joined[rep]))))
    return groups


def as_tuples(groups: list[similarity.DuplicateGroup]) -> list[tuple]:
    return [(group.member_ids, group.similarities) for group in groups]


def assert_same_groups(got: list[tuple], expected: list[tuple]) -> None:
    assert [ids for ids, _ in got] == [ids for ids, _ in expected]
    for (_, got_cosines), (_, expected_cosines) in zip(got, expected, strict=True):
        np.testing.assert_allclose(got_cosines, expected_cosines, atol=1e-6)


@pytest.mark.parametrize("pair_group_max", [64, 3])  # small groups by pairs; with 3, the large ones by blocks too
def test_near_duplicate_groups_equal_the_per_row_computation(monkeypatch: pytest.MonkeyPatch, pair_group_max: int):
    monkeypatch.setattr(similarity, "_PAIR_GROUP_MAX", pair_group_max)
    monkeypatch.setattr(similarity, "_PAIR_BUDGET", 50)  # several slices of pairs
    candidates = sample(400, seed=5)
    tfidf = TfidfEncoder().fit([c.tail for c in candidates])
    sparse = tfidf.encode([c.tail for c in candidates])
    dense = similarity._compact_columns(sparse).toarray()  # the same products, 2^21 columns fewer

    expected = reference_groups(candidates, dense, 0.8)

    assert len(expected) > 20 and max(len(ids) for ids, _ in expected) >= 3
    assert_same_groups(as_tuples(near_duplicate_groups(candidates, sparse, threshold=0.8)), expected)
    assert_same_groups(as_tuples(near_duplicate_groups(candidates, dense, threshold=0.8)), expected)


def test_head_similarities_equal_the_per_row_computation() -> None:
    candidates = sample(300, seed=9)
    result = similarity_filter(
        candidates, TfidfEncoder(), max_head_similarity=0.7, tfidf_max_head_similarity=0.3, duplicate_similarity=0.9
    )
    reference = TfidfEncoder().fit(
        [c.tail for c in candidates]
        + list(dict.fromkeys(p for c in candidates for p in similarity._head_texts(c, lexical=True)))
    )
    expected = []
    for c in candidates:  # one tail, one head part at a time
        tail = reference.encode([c.tail])
        parts = similarity._head_texts(c, lexical=True)
        expected.append(max(float(tail.multiply(reference.encode([part])).sum()) for part in parts))

    np.testing.assert_allclose(result.head_similarities, expected, atol=1e-6)
    assert [v is not None for v in result.head_verdicts] == [e > 0.3 for e in expected]


def test_tfidf_fit_encode_equals_fit_then_encode() -> None:
    texts = [c.tail for c in sample(200, seed=1)] + ["winter  boots", "Ｗinter boots", ""]  # two that normalise
    for pool in (texts[:-3], texts):
        one_pass = TfidfEncoder(chunk_size=64).fit_encode(pool)
        two_pass = embed_with_cache(TfidfEncoder(chunk_size=64).fit(pool), pool)
        assert one_pass.shape == two_pass.shape
        assert abs(one_pass - two_pass).max() < 1e-6


def test_sparse_rows_compacted_to_their_columns_keep_their_products() -> None:
    rows = TfidfEncoder().fit(WORDS).encode(WORDS[:6])
    compact = similarity._compact_columns(rows)

    assert compact.shape[1] == len(np.unique(rows.indices))
    np.testing.assert_allclose((compact @ compact.T).toarray(), (rows @ rows.T).toarray(), atol=1e-6)
    assert isinstance(compact, csr_matrix)


def test_the_encoder_runs_on_cuda_when_torch_sees_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert encoders.encoder_device().type == "cuda"
    assert encoders.encoder_device("cpu").type == "cpu"  # the configuration's device wins
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert encoders.encoder_device().type == "cpu"
    assert str(encoders.encoder_device("cuda:1")) == "cuda:1"


def test_tfidf_character_counts_equal_scikit_learns_char_wb_analyser() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer  # noqa: TID251 (the reference)

    texts = ["Keep  feet WARM", "", "a", "ab cd", "Ünïcode wörds\tand\nnewlines", "x" * 40 + " yz", *WORDS] * 2
    common = {"n_features": 2**20, "alternate_sign": False, "norm": None, "dtype": np.float32}
    reference = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common).transform(texts)

    counts = TfidfEncoder()._counts(texts)[1]

    assert counts.shape == reference.shape
    assert abs(counts - reference).max() == 0


def test_tfidf_word_counts_equal_scikit_learns_word_analyser() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer  # noqa: TID251 (the reference)

    texts = [
        "Keep  feet WARM and keep feet dry",
        "",
        "a",
        "ab",
        "ab cd ab cd",
        "Ünïcode wörds\tand\nnewlines, l'été — 20000mAh!",
        "x_y 42 4 café-au-lait",
        *WORDS,
    ] * 2
    common = {"n_features": 2**20, "alternate_sign": False, "norm": None, "dtype": np.float32}
    reference = HashingVectorizer(analyzer="word", ngram_range=(1, 2), **common).transform(texts)

    counts = TfidfEncoder()._counts(texts)[0]

    assert counts.shape == reference.shape
    assert abs(counts - reference).max() == 0
    assert counts.sum() == reference.sum() > 0
