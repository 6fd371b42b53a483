"""Labelled candidates for classifier tests: good tails are labelled Yes on every question, bad ones fail a gate."""

from __future__ import annotations

from annotation.models import ConsolidatedLabel, NewLabelCount, Question
from knowledge.models import Candidate
from tests.factories import CandidateFactory, SearchBuyPairFactory

GOOD = [
    "grip icy sidewalks",
    "keep feet warm in deep snow",
    "stay dry in slush",
    "support swollen ankles",
    "slip on without bending",
    "cushion a sore heel",
]
BAD = ["be a boot", "the product", "buy it now", "is good", "a thing", "winter"]


def fixed_pair(number: int) -> object:
    """A behaviour pair whose texts depend on ``number`` only. The factories' sequences run across the whole
    session, so their default texts (and the hashed features made of them) would change with the tests before."""
    return SearchBuyPairFactory(
        query__text=f"shopper query {number}",
        product__title=f"catalogue item {number}",
        product__category__name="Footwear",
    )


def labelled_pool(*, repeat: int = 3, unlabelled: int = 10) -> tuple[list[Candidate], list[Candidate]]:
    """``repeat`` x (6 good + 6 bad) labelled candidates and some pooled unlabelled ones (good and bad tails).
    Every text is fixed by the arguments, so training on them gives the same model whatever ran before."""
    questions = {q.slug: q for q in Question.objects.all()}
    labelled = []
    numbers = iter(range(1_000_000))
    for round_ in range(repeat):
        for tail in GOOD:
            candidate = CandidateFactory(status="labelled", tail=f"{tail} {round_}", pair=fixed_pair(next(numbers)))
            for slug in ("complete", "relevant", "informative", "plausible", "typical"):
                ConsolidatedLabel.objects.create(candidate=candidate, question=questions[slug], value=True, yes=2)
            labelled.append(candidate)
        for tail in BAD:
            candidate = CandidateFactory(status="labelled", tail=f"{tail} {round_}", pair=fixed_pair(next(numbers)))
            ConsolidatedLabel.objects.create(candidate=candidate, question=questions["complete"], value=True, yes=2)
            ConsolidatedLabel.objects.create(candidate=candidate, question=questions["informative"], value=False, no=2)
            labelled.append(candidate)
    pool = [
        CandidateFactory(
            status="pooled", tail=(GOOD if i % 2 == 0 else BAD)[i % 6] + " again", pair=fixed_pair(next(numbers))
        )
        for i in range(unlabelled)
    ]
    for question in questions.values():
        NewLabelCount.objects.update_or_create(question=question, defaults={"count": len(labelled)})
    return labelled, pool  # type: ignore[return-value]  # factory_boy's stubs type instances as factories
