"""A scored pool: two active classifiers (plausible, typical) and candidates whose scores pass both."""

from __future__ import annotations

from typing import Any

import pytest

from classifiers.models import CandidateScore, ModelVersion
from knowledge.models import Candidate, Relation
from tests.factories import CandidateFactory, CategoryFactory, ProductFactory, SearchBuyPairFactory


@pytest.fixture
def scored_pool(db: Any) -> Any:
    def make(
        count: int = 30, *, relation: str = "capable_of", category: str = "Shoes", tails: list[str] | None = None
    ) -> list[Candidate]:
        versions = {}
        for token, target in enumerate(("plausible", "typical"), start=1):
            versions[target] = ModelVersion.objects.filter(target=target, is_active=True).first() or (
                ModelVersion.objects.create(
                    target=target, kind="tfidf_lr", artifact="x", is_active=True, version_token=token, threshold=0.5
                )
            )
        kind = CategoryFactory(name=category)
        product = ProductFactory(category=kind, title="Slip-resistant ankle boot")
        candidates = []
        for i in range(count):
            tail = tails[i % len(tails)] + f" {i}" if tails else f"grip icy sidewalks {i}"
            candidate = CandidateFactory(
                status="scored",
                relation=Relation.objects.get(slug=relation),
                tail=tail,
                pair=SearchBuyPairFactory(product=product),
            )
            for target, version in versions.items():
                CandidateScore.objects.create(
                    candidate=candidate,
                    target=target,
                    model_version=version,
                    version_token=version.version_token,
                    score=0.99 - i * 0.001 if target == "typical" else 0.97,
                )
            candidates.append(candidate)
        return candidates  # type: ignore[return-value]  # factory_boy stubs type instances as factories

    return make
