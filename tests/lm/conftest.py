"""A small synthetic curated graph for COSMO-LM: accepted edges (generation) and consolidated plausible/typical
labels (judgements) whose yes/no follows the tail's phrase set (``tests.classifiers.lm_tiny``; each relation's
accepted tails are the same two phrases for every behaviour, so generation is learnable too), and a tiny random
Llama whose vocabulary covers the instruction data read back from the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.classifiers.lm_tiny import BAD, GOOD, PRODUCTS, QUERIES, RELATIONS, tiny_lm

PAIRS = 40
#: Enough steps for the tiny model to learn the signal with LoRA (held-out ROC AUC and accuracy 1.0 here).
TINY_PARAMS = {
    "epochs": 6,
    "batch_size": 16,
    "learning_rate": 3e-3,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.0,
    "max_length": 128,
    "generation_max_new_tokens": 16,
    "generation_examples": 20,
}


@pytest.fixture
def curated_graph(db: Any) -> dict[str, Any]:
    from annotation.models import ConsolidatedLabel, Question
    from curation import services
    from knowledge.models import Relation
    from tests.factories import CandidateFactory, ProductFactory, SearchBuyPairFactory, SearchQueryFactory, UserFactory

    curator = UserFactory(role="curator")
    questions = {q.slug: q for q in Question.objects.filter(slug__in=["plausible", "typical"])}
    relations = {slug: Relation.objects.get(slug=slug) for slug in RELATIONS}
    pairs = []
    for i in range(PAIRS):
        pair = SearchBuyPairFactory(
            query=SearchQueryFactory(text=f"{QUERIES[i % len(QUERIES)]} {i}"),
            product=ProductFactory(title=PRODUCTS[i % len(PRODUCTS)]),
        )
        pairs.append(pair)
        for r, slug in enumerate(RELATIONS):
            for k in range(2):
                candidate = CandidateFactory(
                    status="labelled", pair=pair, relation=relations[slug], tail=GOOD[2 * r + k]
                )
                services.candidate_decide(candidate_id=candidate.pk, accept=True, curator=curator)
        for k in range(4):
            good = k < 2
            candidate = CandidateFactory(
                status="labelled",
                pair=pair,
                relation=relations[RELATIONS[k % 2]],
                tail=(GOOD if good else BAD)[(i * 2 + k) % 6] + " ",  # its own candidate (not an accepted edge)
            )
            for question in questions.values():
                ConsolidatedLabel.objects.create(candidate=candidate, question=question, value=good)
    return {"pairs": pairs}


@pytest.fixture
def tiny_base(curated_graph: Any, tmp_path: Path) -> str:
    """A tiny random Llama whose vocabulary covers the graph's instruction data (as COSMO-LM will read it)."""
    from curation.selectors import instruction_records_read

    texts = [f"{r['instruction']} {r['input']} {r['output']}" for r in instruction_records_read()]
    return tiny_lm(tmp_path / "tiny-base", texts=texts)
