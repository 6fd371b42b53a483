"""Batch formation and the stratified estimate, pure: no database."""

from __future__ import annotations

import pytest

from curation.formation import audit_allocate, batches_plan, legacy_batches_plan, score_band, strata_sizes
from curation.maths import audit_sample_size, stratified_estimate, wilson_interval

BANDS = [0.0, 0.8, 0.9, 0.95, 1.0]
PLAN = {"target_size": 1000, "max_size": 1500, "half_width": 0.05, "min_stratum_size": 100, "min_audit": 20}


def test_scores_fall_in_their_band_and_one_is_in_the_last() -> None:
    assert [score_band(s, BANDS) for s in (0.1, 0.8, 0.899, 0.9, 0.95, 1.0)] == [0, 1, 1, 2, 3, 3]
    assert strata_sizes([(1, 2, 0.99), (1, 2, 0.97), (1, None, 0.5)], BANDS) == {(1, 2, 3): 2, (1, None, 0): 1}


def test_strata_merge_into_batches_of_the_target_size_and_never_across_relations_unless_asked() -> None:
    sizes = {(r, c, b): 90 + 7 * c for r in (1, 2) for c in range(6) for b in range(4)}  # 2,580 per relation
    plan = batches_plan(sizes, **PLAN)
    for relation in (1, 2):
        batches = [batch for batch in plan if batch.strata[0].relation == relation]
        assert all({stratum.relation for stratum in batch.strata} == {relation} for batch in batches)
        # a batch closes once it reaches the target (less at most a stratum's minimum), only the last is short
        assert [batch.size for batch in batches] == [1083, 943, 554]
    assert sum(batch.size for batch in plan) == sum(sizes.values())
    across = batches_plan(sizes, **PLAN, across_relations=True)
    assert len(across) == 5 and any(len({stratum.relation for stratum in batch.strata}) == 2 for batch in across)
    assert all(batch.size <= PLAN["max_size"] for batch in across)


def test_small_strata_merge_by_score_band_first_then_by_category() -> None:
    sizes = {(1, 1, 3): 500, (1, 1, 2): 60, (1, 1, 1): 50, (1, 1, 0): 20, (1, 2, 3): 40, (1, 3, 3): 30, (1, 4, 0): 50}
    (batch,) = batches_plan(sizes, **PLAN)
    by_parts = [sorted(part.key for part in stratum.parts) for stratum in batch.strata]
    # category 1: its 500 alone; 0.9-0.95 and 0.8-0.9 together (60 + 50); the last 20 join them (too small alone)
    assert by_parts[0] == [(1, 1, 3)] and by_parts[1] == [(1, 1, 0), (1, 1, 1), (1, 1, 2)]
    # categories 2, 3 and 4 are each under 100: one "small categories" stratum of 120
    assert by_parts[2] == [(1, 2, 3), (1, 3, 3), (1, 4, 0)] and batch.strata[2].categories == [4, 2, 3]
    # every stratum is checked: in proportion to its size, at least 20
    total = audit_sample_size(batch.size, PLAN["half_width"])
    assert [s.audit_size for s in batch.strata] == audit_allocate([500, 130, 120], total, minimum=20)
    assert all(s.audit_size >= 20 for s in batch.strata) and batch.audit_size >= total


def test_a_large_stratum_is_split_into_batches_of_the_target_size() -> None:
    plan = batches_plan({(1, 1, 3): 3_400}, **PLAN)
    assert [batch.size for batch in plan] == [1000, 1000, 1400]  # the last 400 join the one before
    parts = [part for batch in plan for stratum in batch.strata for part in stratum.parts]
    assert [(p.start, p.stop) for p in parts] == [(0, 1000), (1000, 2000), (2000, 3400)]  # one stratum, not two


def test_audit_allocation_is_proportional_with_a_minimum_and_never_more_than_the_stratum() -> None:
    assert audit_allocate([900, 90, 10], 300, minimum=20) == [270, 27, 10]
    assert audit_allocate([980, 20], 100, minimum=20) == [98, 20]
    assert audit_allocate([], 10, minimum=5) == []


def test_the_legacy_rule_is_one_batch_per_stratum_cut_at_the_cap() -> None:
    plan = legacy_batches_plan({(1, 1, 3): 2_500, (1, 2, 3): 3}, max_size=2000, half_width=0.05)
    assert [(b.size, b.audit_size) for b in plan] == [(2000, audit_sample_size(2000, 0.05)), (500, 218), (3, 3)]


def test_the_stratified_estimate_weights_strata_by_size_and_knows_a_fully_audited_population() -> None:
    # one stratum, no correction needed beyond the finite population: a very large one is Wilson's interval
    single = stratified_estimate([(10**9, 8, 2)])
    assert single["precision"] == pytest.approx(0.8)
    assert (single["wilson_low"], single["wilson_high"]) == pytest.approx(wilson_interval(8, 10), abs=1e-6)
    # 900 candidates at 20/20 and 100 at 10/20: p = .9 * 1 + .1 * .5 = .95, not (20 + 10) / 40
    two = stratified_estimate([(900, 20, 0), (100, 10, 10)])
    assert two["precision"] == pytest.approx(0.95)
    assert (two["wilson_low"] or 0) < 0.95 < (two["wilson_high"] or 0)
    # every candidate audited: the precision is known
    known = stratified_estimate([(3, 3, 0), (2, 1, 1)])
    assert (
        known["precision"] == pytest.approx(0.8) and known["wilson_low"] == known["wilson_high"] == known["precision"]
    )
    assert stratified_estimate([(5, 0, 0)])["precision"] is None
