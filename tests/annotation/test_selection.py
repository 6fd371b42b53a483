"""Issue 21's pure decisions: the gate rule, exhaustion, the queue order (warm start, interleaved strata, a random
share, one candidate per behaviour pair per round) and gate sampling. No database."""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from annotation.maths.overlap import EXHAUSTED, GATE_OPEN, WAIVED, OverlapDecision, gate_majority, overlap_decide
from annotation.maths.selection import Pick, gate_record_confident, gate_sampled, gates_confident, queue_order

ORDER = [1, 2, 3, 4, 5]  # complete, relevant, informative, plausible, typical
GATES = [1, 2, 3]


def decide(answers: list[tuple[int, int, bool, bool]], **kwargs: Any) -> OverlapDecision:
    return overlap_decide(
        ORDER, answers, kwargs.pop("labels", {}), [], in_flight=0, min_answers=2, max_answers=3, gates=GATES, **kwargs
    )


@pytest.mark.parametrize(
    ("yes", "no", "value", "needs_more", "passed_on"),
    [
        (2, 0, True, False, False),
        (2, 1, True, False, False),
        (0, 2, None, True, False),  # two No answers never close
        (1, 2, None, True, False),
        (0, 3, False, False, False),
        (1, 3, False, False, False),
        (2, 2, None, True, False),
        (2, 3, True, False, True),  # at the cap: passed on to the later questions
        (3, 2, True, False, False),
    ],
)
def test_a_gate_no_needs_three_no_answers_and_two_more_than_yes(
    yes: int, no: int, value: bool | None, needs_more: bool, passed_on: bool
) -> None:
    result, passed = gate_majority(yes, no, min_answers=2, no_answers=3, max_answers=5)
    assert (result.value, result.needs_more, passed) == (value, needs_more, passed_on)


def test_two_noisy_no_answers_on_a_gate_want_a_third_instead_of_closing() -> None:
    decision = decide([(10, 1, False, False), (11, 1, False, False)])
    assert decision.done is False and decision.closes is False
    assert decision.wanted == 1


def test_the_same_two_no_answers_on_the_final_question_settle_it() -> None:
    answers = [(a, q, True, False) for a in (10, 11) for q in GATES] + [(10, 4, False, False), (11, 4, False, False)]
    decision = decide(answers)
    assert decision.closes is True and decision.results[4].value is False


def test_a_waived_gate_is_kept_without_answers_and_skipped() -> None:
    labels = {q: (True, 0, 0, WAIVED) for q in GATES}
    decision = decide([(10, 4, True, False)], labels=labels)
    assert decision.deletes == [] and decision.wanted == 1
    assert list(decision.results) == [1, 2, 3, 4]


def test_exhaustion_passes_a_weak_gate_no_on_and_settles_the_final_question_by_weighted_evidence() -> None:
    answers = [
        (10, 1, False, False),  # a noisy No ends annotator 10's pass
        (11, 1, True, False),
        (12, 1, True, False),
        (11, 2, True, False),
        (12, 2, True, False),
        (11, 3, True, False),
        (12, 3, True, False),
        (11, 4, True, False),
        (12, 4, False, False),
    ]
    decision = decide(answers, exhausted=True, weights={11: 2.0, 12: 1.0}, names={4: "plausible"})
    assert decision.closes is True
    assert decision.results[4].value is True
    assert (4, decision.results[4], EXHAUSTED) in decision.upserts
    assert "plausible settled by weighted evidence" in decision.reason


def test_exhaustion_never_closes_on_two_gate_no_answers_and_gives_up_with_a_reason() -> None:
    answers = [(10, 1, False, False), (11, 1, False, False), (12, 1, True, False)]
    decision = decide(answers, exhausted=True, names={1: "complete", 2: "relevant"})
    assert decision.closes is True
    assert decision.results[1].value is True
    assert any(m == GATE_OPEN for _q, _r, m in decision.upserts)
    assert decision.reason.startswith("no annotator left")


def test_an_exhausted_tie_on_the_final_question_stays_undecided() -> None:
    answers = [(a, q, True, False) for a in (10, 11) for q in GATES] + [(10, 4, True, False), (11, 4, False, False)]
    decision = decide(answers, exhausted=True, names={4: "plausible"})
    assert decision.closes is True and decision.results[4].value is None


def picks(strata: dict[str, int], *, uncertainty: float | None = None) -> list[Pick]:
    out = []
    number = 0
    for stratum, count in strata.items():
        for _ in range(count):
            number += 1
            out.append(Pick(number, 0.0, uncertainty, stratum, number))
    return out


def test_strata_are_interleaved_from_the_first_position_never_served_in_blocks() -> None:
    pool = picks({"big": 400, "mid": 100, "small": 25})
    stratum = {pick.candidate_id: pick.stratum for pick in pool}
    order = queue_order(pool, labelled={}, model_ready=False, uncertainty_weight=2.0, random_share=0.0, seed=1)
    assert {stratum[i] for i in order[:3]} == {"big", "mid", "small"}
    longest = run = 1
    while_all_remain = order[:150]  # the small stratum's 25 last until about position 175
    for before, after in itertools.pairwise(while_all_remain):
        run = run + 1 if stratum[before] == stratum[after] else 1
        longest = max(longest, run)
    assert longest <= 4  # never a block of one stratum
    first = Counter(stratum[i] for i in order[:100])
    assert first["big"] > first["mid"] > first["small"] > 0  # at rates growing with the stratum's size


def test_a_stratum_with_many_labels_comes_later() -> None:
    pool = picks({"a": 10, "b": 10})
    stratum = {pick.candidate_id: pick.stratum for pick in pool}
    order = queue_order(pool, labelled={"a": 30}, model_ready=False, uncertainty_weight=0.0, random_share=0.0)
    assert [stratum[i] for i in order[:5]] == ["b"] * 5


def test_the_warm_start_orders_at_random_until_the_model_beats_chance_then_follows_uncertainty() -> None:
    pool = [Pick(i, 0.0, i / 1000, "s", i) for i in range(1, 1001)]  # uncertainty grows with the id
    warm = queue_order(pool, labelled={}, model_ready=False, uncertainty_weight=2.0, random_share=0.0, seed=3)
    ready = queue_order(pool, labelled={}, model_ready=True, uncertainty_weight=2.0, random_share=0.0, seed=3)
    assert ready[:10] == list(range(1000, 990, -1))  # the most uncertain first
    assert 300 < sum(warm[:100]) / 100 < 700  # not following uncertainty: ids spread over the pool


def test_a_random_share_of_positions_is_filled_by_random_candidates() -> None:
    pool = [Pick(i, 0.0, i / 1000, "s", i) for i in range(1, 1001)]
    order = queue_order(pool, labelled={}, model_ready=True, uncertainty_weight=2.0, random_share=0.2, seed=5)
    assert sorted(order) == list(range(1, 1001))
    low = sum(1 for i in order[:200] if i <= 800)  # not among the 200 most uncertain: came from the random share
    assert 20 <= low <= 70


def test_one_candidate_per_behaviour_pair_per_round_within_a_stratum() -> None:
    pool = [Pick(i, 0.0, 1.0 - i / 100, "s", i % 5) for i in range(1, 51)]  # five pairs of ten candidates
    order = queue_order(pool, labelled={}, model_ready=True, uncertainty_weight=2.0, random_share=0.0)
    assert len({i % 5 for i in order[:5]}) == 5


def test_gate_sampling_asks_the_documented_share_stably() -> None:
    sampled = [candidate_id for candidate_id in range(1, 20_001) if gate_sampled(candidate_id, 0.2)]
    assert 0.19 < len(sampled) / 20_000 < 0.21
    assert sampled == [candidate_id for candidate_id in range(1, 20_001) if gate_sampled(candidate_id, 0.2)]
    assert gates_confident(0.9, confidence=0.7) and gates_confident(0.1, confidence=0.7)
    assert not gates_confident(0.5, confidence=0.7) and not gates_confident(None, confidence=0.7)
    assert gate_record_confident(97, 3, confidence=0.9, min_labels=50)
    assert not gate_record_confident(45, 0, confidence=0.9, min_labels=50)
    assert not gate_record_confident(85, 15, confidence=0.9, min_labels=50)


def test_with_no_annotator_left_one_ordinary_answer_is_not_enough_evidence() -> None:
    answers = [(a, q, True, False) for a in (10, 11) for q in GATES] + [(10, 4, True, False)]
    decision = decide(answers, exhausted=True, min_evidence=2.08, weights={10: 1.39}, names={4: "plausible"})
    assert decision.closes is True and decision.results[4].value is None
    assert "plausible undecided (1 yes, 0 no)" in decision.reason
    trusted = decide(answers, exhausted=True, min_evidence=2.08, weights={10: 2.2}, names={4: "plausible"})
    assert trusted.results[4].value is True  # a 0.9-accurate annotator's answer


# --- queue_order against a direct transcription of its definition ------------------------------------------------


def _reference_stride(
    sequences: Mapping[Hashable, list[int]], done: Mapping[Hashable, int], score: Mapping[int, float]
) -> list[int]:
    """Merge ordered sequences so that each appears at a rate proportional to its length: the ``j``-th item of
    sequence ``k`` is placed at ``(done[k] + j) / len(k)``, ties by score (stride scheduling)."""
    keyed: list[tuple[float, float, int]] = []
    for key, items in sequences.items():
        weight = float(len(items))
        start = done.get(key, 0)
        keyed += [((start + j) / weight, -score[item], item) for j, item in enumerate(items)]
    keyed.sort()
    return [item for _key, _score, item in keyed]


def reference_queue_order(
    picks: Sequence[Pick],
    *,
    labelled: Mapping[Hashable, int],
    model_ready: bool,
    uncertainty_weight: float,
    random_share: float,
    seed: int = 0,
    labelled_within: Mapping[tuple[Hashable, Hashable], int] | None = None,
) -> list[int]:
    """The order as issue 21 first wrote it, loop by loop: the set-based ``queue_order`` must give exactly this.

    ``labelled`` counts labels per stratum, ``labelled_within`` per (stratum, substratum)."""
    if not 0.0 <= random_share <= 1.0:
        raise ValueError("random_share must be in [0, 1]")
    rng = np.random.default_rng(seed)  # one stream: the warm start's draws in id order, the permutation, the flips
    draw = dict(zip(sorted(pick.candidate_id for pick in picks), rng.random(len(picks)).tolist(), strict=True))
    score: dict[int, float] = {}
    tree: dict[Hashable, dict[Hashable, list[Pick]]] = defaultdict(lambda: defaultdict(list))
    for pick in picks:
        term = pick.uncertainty if model_ready and pick.uncertainty is not None else draw[pick.candidate_id]
        score[pick.candidate_id] = pick.base + uncertainty_weight * term
        tree[pick.stratum][pick.substratum].append(pick)
    per_stratum: dict[Hashable, list[int]] = {}
    for stratum, subs in tree.items():
        per_sub: dict[Hashable, list[int]] = {}
        for sub, members in subs.items():
            members.sort(key=lambda pick: (-score[pick.candidate_id], pick.candidate_id))
            seen: dict[Hashable, int] = defaultdict(int)
            ranked = []
            for pick in members:  # one candidate per behaviour pair per round, best first within a round
                ranked.append((seen[pick.group], pick.candidate_id))
                seen[pick.group] += 1
            ranked.sort(key=lambda entry: entry[0])  # stable: keeps the score order within a round
            per_sub[sub] = [candidate_id for _round, candidate_id in ranked]
        within = {sub: (labelled_within or {}).get((stratum, sub), 0) for sub in per_sub}
        per_stratum[stratum] = _reference_stride(per_sub, within, score)
    interleaved = _reference_stride(per_stratum, labelled, score)
    if random_share <= 0.0 or not interleaved:
        return interleaved
    shuffled = [interleaved[position] for position in rng.permutation(len(interleaved))]
    flips = iter(rng.random(len(interleaved)).tolist())
    order: list[int] = []
    taken: set[int] = set()
    planned, random_ = iter(interleaved), iter(shuffled)
    while len(order) < len(interleaved):
        source = random_ if next(flips) < random_share else planned
        for candidate_id in source:
            if candidate_id not in taken:
                taken.add(candidate_id)
                order.append(candidate_id)
                break
        else:  # that source is used up: the rest comes from the other
            rest = planned if source is random_ else random_
            order.extend(candidate_id for candidate_id in rest if candidate_id not in taken)
            break
    return order


@pytest.mark.parametrize("seed", range(12))
def test_the_set_based_order_is_the_transcribed_one_on_random_pools(seed: int) -> None:
    rng = random.Random(seed)
    count = rng.choice([1, 2, 7, 60, 400])
    strata = [f"relation {n}" for n in range(rng.randint(1, 5))]
    pool = [
        Pick(
            candidate_id=rng.randrange(1, 10**9) * 10 + n % 10,  # unique, in no particular order
            base=rng.choice([0.0, 0.25, 0.5, rng.random()]),  # ties on purpose
            uncertainty=rng.choice([None, 0.5, rng.random()]),
            stratum=rng.choice(strata),
            substratum=rng.choice([0, 1, 2, None]),
            group=rng.choice([1, 2, 3, -n]),
        )
        for n in range(count)
    ]
    assert len({pick.candidate_id for pick in pool}) == count
    labelled = {stratum: rng.randint(0, 5) for stratum in strata[::2]}
    within = {(stratum, sub): rng.randint(0, 3) for stratum in strata for sub in (0, 2)}
    for ready, share, weight in ((False, 0.2, 1.0), (True, 0.0, 0.6), (True, 0.5, 2.0), (False, 1.0, 0.0)):
        options: dict[str, Any] = {
            "labelled": labelled,
            "labelled_within": within,
            "model_ready": ready,
            "uncertainty_weight": weight,
            "random_share": share,
            "seed": seed,
        }
        assert queue_order(pool, **options) == reference_queue_order(pool, **options)
