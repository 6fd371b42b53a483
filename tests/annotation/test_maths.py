"""The pure maths of annotation (annotation/maths): agreement, consolidation, specificity. No database.

Expected values are computed by hand in each test's docstring; Krippendorff's alpha is also checked against the
published nominal example of Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability".
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Hashable
from pathlib import Path

import pytest

from annotation.maths import (
    DEFAULT_PRIORITY_WEIGHTS,
    Consolidated,
    category_entropy,
    cohen_kappa,
    dawid_skene,
    gold_accuracy,
    gwet_ac1,
    krippendorff_alpha_nominal,
    majority,
    pairwise_cohen_kappa,
    percent_agreement,
    priority,
    query_specificity,
)

ROOT = Path(__file__).resolve().parent.parent.parent

Y, N = True, False


def two_rater_answers(pairs: list[tuple[bool, bool]]) -> list[tuple[Hashable, Hashable, bool]]:
    """Answers of raters "a" and "b" from ``(a_value, b_value)`` pairs, one item per pair."""
    answers: list[tuple[Hashable, Hashable, bool]] = []
    for item, (a, b) in enumerate(pairs):
        answers += [(item, "a", a), (item, "b", b)]
    return answers


# 10 items: both Yes 4, a Yes / b No 2, a No / b Yes 1, both No 3.
KAPPA_PAIRS = [(Y, Y)] * 4 + [(Y, N)] * 2 + [(N, Y)] + [(N, N)] * 3
# The kappa paradox: 10 items, both Yes 8, one disagreement each way, never both No.
PARADOX_PAIRS = [(Y, Y)] * 8 + [(Y, N), (N, Y)]
# Missing data: u1 Y Y Y, u2 Y N, u3 N N, u4 Y (alone, not pairable), u5 Y Y N.
MISSING_DATA = [
    ("u1", "a", Y),
    ("u1", "b", Y),
    ("u1", "c", Y),
    ("u2", "a", Y),
    ("u2", "c", N),
    ("u3", "b", N),
    ("u3", "c", N),
    ("u4", "a", Y),
    ("u5", "a", Y),
    ("u5", "b", Y),
    ("u5", "d", N),
]


# --- agreement ------------------------------------------------------------------------------------------------------


def test_cohen_kappa_of_a_two_rater_ten_item_example_is_0_4() -> None:
    """p_o = 7/10; P_a(Yes) = 6/10, P_b(Yes) = 5/10, so p_e = 0.6*0.5 + 0.4*0.5 = 0.5; kappa = 0.2/0.5 = 0.4."""
    assert cohen_kappa(KAPPA_PAIRS) == pytest.approx(0.4)


def test_cohen_kappa_is_one_for_perfect_agreement_and_minus_one_for_perfect_disagreement_on_balanced_data() -> None:
    assert cohen_kappa([(Y, Y), (N, N)]) == pytest.approx(1.0)
    assert cohen_kappa([(Y, N), (N, Y)]) == pytest.approx(-1.0)


def test_cohen_kappa_is_none_without_pairs_and_one_when_both_raters_never_vary() -> None:
    assert cohen_kappa([]) is None
    assert cohen_kappa([(Y, Y)] * 5) == 1.0


def test_pairwise_cohen_kappa_gives_kappa_and_shared_items_for_every_pair_that_shares_an_item() -> None:
    answers = [*two_rater_answers(KAPPA_PAIRS), ("x1", "c", Y), ("x1", "a", N), ("x2", "d", Y)]
    result = pairwise_cohen_kappa(answers)
    assert set(result) == {("a", "b"), ("a", "c")}
    kappa_ab, shared_ab = result["a", "b"]
    assert kappa_ab == pytest.approx(0.4)
    assert shared_ab == 10
    # One shared item, a No and c Yes: p_o = 0, p_e = 0*1 + 1*0 = 0, kappa = 0.
    assert result["a", "c"] == (0.0, 1)


def test_pairwise_cohen_kappa_orders_pairs_naturally_and_falls_back_to_repr_for_mixed_ids() -> None:
    assert list(pairwise_cohen_kappa([(1, "zed", Y), (1, "amy", Y)])) == [("amy", "zed")]
    assert list(pairwise_cohen_kappa([(1, 7, Y), (1, 3, N)])) == [(3, 7)]
    # 2 and "1" don't compare; repr(2) = "2" > repr("1") = "'1'".
    assert list(pairwise_cohen_kappa([(1, 2, Y), (1, "1", N)])) == [("1", 2)]


def test_krippendorff_alpha_reproduces_the_published_nominal_example_with_missing_data() -> None:
    """Krippendorff (2011), section C: 4 observers, 12 units, values 1..5, missing data; alpha_nominal = 0.743."""
    rows = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    answers = [(unit, observer, v) for observer, row in rows.items() for unit, v in enumerate(row) if v is not None]
    alpha = krippendorff_alpha_nominal(answers)
    assert alpha is not None
    assert round(alpha, 3) == 0.743


def test_krippendorff_alpha_of_a_binary_example_with_missing_data_is_0_25() -> None:
    """Coincidences (ordered pairs within an item, each weighted 1/(m_u - 1)); u4 has one value and drops out.

    u1 (YYY): o_YY += 3*2/2 = 3.  u2 (YN): o_YN += 1, o_NY += 1.  u3 (NN): o_NN += 2.
    u5 (YYN): o_YY += 2*1/2 = 1, o_YN += 2*1/2 = 1, o_NY += 1.
    Totals o_YY = 4, o_YN = o_NY = 2, o_NN = 2; n_Y = 6, n_N = 4, n = 10.
    D_o = 4/10, D_e = 2*6*4 / (10*9) = 48/90; alpha = 1 - 0.4 / (48/90) = 1 - 0.75 = 0.25.
    """
    assert krippendorff_alpha_nominal(MISSING_DATA) == pytest.approx(0.25)


def test_krippendorff_alpha_is_none_without_pairable_values_and_one_when_all_values_are_identical() -> None:
    assert krippendorff_alpha_nominal([]) is None
    assert krippendorff_alpha_nominal([("u1", "a", Y), ("u2", "a", N), ("u3", "b", Y)]) is None
    assert krippendorff_alpha_nominal([("u1", "a", Y), ("u1", "b", Y), ("u2", "a", Y), ("u2", "c", Y)]) == 1.0


def test_percent_agreement_averages_the_agreeing_pair_share_over_items_with_two_answers() -> None:
    """u1 1, u2 0, u3 1, u5 (2*1 + 0) / (3*2) = 1/3; u4 is skipped; mean = (7/3) / 4 = 7/12."""
    assert percent_agreement(MISSING_DATA) == pytest.approx(7 / 12)
    assert percent_agreement(two_rater_answers(KAPPA_PAIRS)) == pytest.approx(0.7)
    assert percent_agreement([("u1", "a", Y)]) is None


def test_gwet_ac1_of_a_binary_example_with_missing_data() -> None:
    """p_a = 7/12 (as above). pi = mean Yes share over items with an answer = (1 + 1/2 + 0 + 1 + 2/3) / 5 = 19/30.

    p_e = 2 * 19/30 * 11/30 = 418/900; AC1 = (525/900 - 418/900) / (482/900) = 107/482.
    """
    assert gwet_ac1(MISSING_DATA) == pytest.approx(107 / 482)


def test_gwet_ac1_stays_high_when_kappa_and_alpha_collapse_on_mostly_yes_answers() -> None:
    """The kappa paradox: 8 of 10 items agreed Yes, one disagreement each way, raw agreement 0.8.

    kappa: P_a(Yes) = P_b(Yes) = 0.9, p_e = 0.81 + 0.01 = 0.82, kappa = (0.8 - 0.82) / 0.18 = -1/9.
    alpha: o_YY = 16, o_YN = o_NY = 2, n_Y = 18, n_N = 2, n = 20; alpha = 1 - 19*4 / (2*18*2) = -1/18.
    AC1: pi = (8*1 + 2*0.5) / 10 = 0.9, p_e = 2*0.9*0.1 = 0.18, AC1 = (0.8 - 0.18) / 0.82 = 31/41 ~ 0.756.
    """
    answers = two_rater_answers(PARADOX_PAIRS)
    assert percent_agreement(answers) == pytest.approx(0.8)
    assert cohen_kappa(PARADOX_PAIRS) == pytest.approx(-1 / 9)
    assert krippendorff_alpha_nominal(answers) == pytest.approx(-1 / 18)
    assert gwet_ac1(answers) == pytest.approx(31 / 41)


def test_gwet_ac1_is_none_without_an_item_with_two_answers_and_one_for_unanimous_data() -> None:
    assert gwet_ac1([("u1", "a", Y), ("u2", "b", N)]) is None
    assert gwet_ac1([("u1", "a", Y), ("u1", "b", Y), ("u2", "a", N), ("u2", "b", N)]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "coefficient",
    [percent_agreement, gwet_ac1, krippendorff_alpha_nominal, pairwise_cohen_kappa, dawid_skene],
)
def test_an_annotator_answering_the_same_item_twice_is_rejected(coefficient: Callable[..., object]) -> None:
    with pytest.raises(ValueError, match="more than once"):
        coefficient([("u1", "a", Y), ("u1", "b", Y), ("u1", "a", N)])


# --- consolidation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no", "expected"),
    [
        (0, 0, Consolidated(value=None, confidence=0.5, yes=0, no=0, needs_more=True)),
        (1, 0, Consolidated(value=None, confidence=1.0, yes=1, no=0, needs_more=True)),
        (2, 0, Consolidated(value=True, confidence=1.0, yes=2, no=0, needs_more=False)),
        (0, 2, Consolidated(value=False, confidence=1.0, yes=0, no=2, needs_more=False)),
        (1, 1, Consolidated(value=None, confidence=0.5, yes=1, no=1, needs_more=True)),
        (2, 1, Consolidated(value=True, confidence=2 / 3, yes=2, no=1, needs_more=False)),
        (1, 2, Consolidated(value=False, confidence=2 / 3, yes=1, no=2, needs_more=False)),
        (3, 0, Consolidated(value=True, confidence=1.0, yes=3, no=0, needs_more=False)),
        (2, 2, Consolidated(value=None, confidence=0.5, yes=2, no=2, needs_more=False)),
        (3, 1, Consolidated(value=True, confidence=0.75, yes=3, no=1, needs_more=False)),
    ],
)
def test_majority_stops_early_on_agreement_and_decides_by_majority_at_the_cap(
    yes: int, no: int, expected: Consolidated
) -> None:
    assert majority(yes, no) == expected


def test_majority_with_a_wider_overlap_keeps_asking_until_the_new_cap() -> None:
    assert majority(2, 1, min_answers=3, max_answers=5).needs_more
    assert majority(3, 0, min_answers=3, max_answers=5).value is True
    decided = majority(3, 2, min_answers=3, max_answers=5)
    assert (decided.value, decided.confidence, decided.needs_more) == (True, 0.6, False)


def test_majority_rejects_negative_counts_and_inconsistent_bounds() -> None:
    with pytest.raises(ValueError):
        majority(-1, 0)
    with pytest.raises(ValueError):
        majority(1, 0, min_answers=3, max_answers=2)
    with pytest.raises(ValueError):
        majority(1, 0, min_answers=0)


def adversarial_answers() -> tuple[list[tuple[Hashable, Hashable, bool]], dict[str, bool]]:
    """Good annotators a, b, c and an adversary z who always answers the opposite of the truth.

    Twelve calibration items seen by all four (c errs on two of them), then two items where the vote is a 2-2 tie:
    a and b right, c wrong, z flipped.
    """
    truth = {f"q{i}": i % 2 == 0 for i in range(12)}
    answers: list[tuple[Hashable, Hashable, bool]] = []
    for item, value in truth.items():
        answers += [(item, "a", value), (item, "b", value), (item, "z", not value)]
        answers.append((item, "c", (not value) if item in ("q3", "q8") else value))
    for item, value in (("tie_yes", Y), ("tie_no", N)):
        truth[item] = value
        answers += [(item, "a", value), (item, "b", value), (item, "c", not value), (item, "z", not value)]
    return answers, truth


def test_dawid_skene_recovers_the_truth_on_two_two_ties_by_learning_that_an_adversary_flips() -> None:
    answers, truth = adversarial_answers()
    assert majority(2, 2, max_answers=4).value is None
    p_yes, rates = dawid_skene(answers)
    assert p_yes["tie_yes"] > 0.99
    assert p_yes["tie_no"] < 0.01
    assert all((p > 0.5) == truth[item] for item, p in p_yes.items())
    # z never says Yes on the 7 true-Yes items: with the Beta(2, 1) pseudo-answers sens = (2 + 0) / (3 + 7) = 0.2.
    sens_z, spec_z = rates["z"]
    assert sens_z == pytest.approx(0.2, abs=0.01)
    assert spec_z == pytest.approx(0.2, abs=0.01)
    sens_a, spec_a = rates["a"]
    assert sens_a > 0.8
    assert spec_a > 0.8
    assert rates["c"][0] < sens_a


def test_dawid_skene_is_confident_on_unanimous_answers() -> None:
    """Items answered unanimously, half Yes and half No, and a batch where every answer is Yes."""
    mixed = [(i, j, i % 2 == 0) for i in range(10) for j in ("a", "b", "c")]
    p_yes, _ = dawid_skene(mixed)
    assert all(p > 0.99 if i % 2 == 0 else p < 0.01 for i, p in p_yes.items())
    all_yes = [(i, j, Y) for i in range(5) for j in ("a", "b", "c")]
    p_yes, _ = dawid_skene(all_yes)
    assert all(p > 0.98 for p in p_yes.values())


def test_dawid_skene_never_gives_an_annotator_with_one_answer_a_rate_of_zero_or_one() -> None:
    p_yes, rates = dawid_skene([("u1", "a", Y), ("u1", "b", Y), ("u2", "a", N), ("u2", "c", N)])
    for sens, spec in rates.values():
        assert 0.0 < sens < 1.0
        assert 0.0 < spec < 1.0
    assert p_yes["u1"] > 0.5 > p_yes["u2"]


def test_dawid_skene_is_deterministic_and_honours_a_fixed_prior() -> None:
    answers, _ = adversarial_answers()
    assert dawid_skene(answers) == dawid_skene(answers)
    one_answer = [("u1", "a", Y)]
    low, _ = dawid_skene(one_answer, prior=0.05)
    high, _ = dawid_skene(one_answer, prior=0.95)
    assert low["u1"] < high["u1"]
    assert dawid_skene([]) == ({}, {})
    with pytest.raises(ValueError):
        dawid_skene(one_answer, prior=1.0)


def test_gold_accuracy_counts_correct_and_total_answers_on_gold_items_only() -> None:
    answers = [("g1", "a", Y), ("g1", "b", N), ("g2", "a", N), ("g2", "b", N), ("x", "a", Y), ("x", "c", Y)]
    assert gold_accuracy(answers, {"g1": Y, "g2": N}) == {"a": (2, 2), "b": (1, 2)}


# --- specificity ----------------------------------------------------------------------------------------------------


def test_category_entropy_is_in_bits_and_ignores_zero_counts() -> None:
    """{A: 2, B: 1, C: 1}: H = -(1/2 log2 1/2 + 2 * 1/4 log2 1/4) = 1/2 + 1 = 1.5 bits."""
    assert category_entropy({"A": 1, "B": 1}) == pytest.approx(1.0)
    assert category_entropy({"A": 2, "B": 1, "C": 1, "D": 0}) == pytest.approx(1.5)
    assert category_entropy({"A": 7}) == 0.0
    assert category_entropy({}) == 0.0
    with pytest.raises(ValueError):
        category_entropy({"A": -1})


def test_query_specificity_is_one_for_one_category_and_zero_for_a_uniform_spread_over_k_max() -> None:
    """1 - H / log2(16): one category 1.0; {A: 2, B: 1, C: 1} 1 - 1.5/4 = 0.625; 16 or 32 even categories 0.0."""
    assert query_specificity({"Shoes": 40}) == 1.0
    assert query_specificity({"A": 2, "B": 1, "C": 1}) == pytest.approx(0.625)
    assert query_specificity({f"c{i}": 3 for i in range(16)}) == pytest.approx(0.0)
    assert query_specificity({f"c{i}": 3 for i in range(32)}) == 0.0
    assert query_specificity({"A": 1, "B": 1}, k_max=4) == pytest.approx(0.5)


def test_query_specificity_refuses_a_query_without_purchases_or_a_degenerate_scale() -> None:
    with pytest.raises(ValueError):
        query_specificity({})
    with pytest.raises(ValueError):
        query_specificity({"A": 1}, k_max=1)


def test_priority_is_the_documented_linear_combination() -> None:
    """Defaults: 1.0 * (1 - 0.625) + 0.5 * min(1, log1p(1000)/log1p(1000)) + 2.0 * 0.5 = 0.375 + 0.5 + 1.0."""
    assert priority(specificity=0.625, support=1000, uncertainty=0.5) == pytest.approx(1.875)
    assert priority(specificity=None, support=0, uncertainty=None) == pytest.approx(0.5)
    assert priority(specificity=1.0, support=10**6, uncertainty=0.0) == pytest.approx(0.5)
    only_breadth = {"support": 0.0, "uncertainty": 0.0}
    assert priority(specificity=0.25, support=50, uncertainty=1.0, weights=only_breadth) == pytest.approx(0.75)
    assert DEFAULT_PRIORITY_WEIGHTS == {"broad": 1.0, "support": 0.5, "uncertainty": 2.0}


def test_priority_asks_broad_well_supported_uncertain_candidates_first() -> None:
    broad = priority(specificity=0.1, support=20, uncertainty=0.2)
    specific = priority(specificity=0.9, support=20, uncertainty=0.2)
    assert broad > specific
    assert priority(specificity=0.5, support=500, uncertainty=0.2) > priority(
        specificity=0.5, support=5, uncertainty=0.2
    )
    assert priority(specificity=0.5, support=5, uncertainty=0.9) > priority(specificity=0.5, support=5, uncertainty=0.1)


def test_priority_rejects_unknown_weights_and_out_of_range_inputs() -> None:
    with pytest.raises(ValueError, match="brod"):
        priority(specificity=0.5, support=1, uncertainty=None, weights={"brod": 1.0})
    with pytest.raises(ValueError):
        priority(specificity=1.5, support=1, uncertainty=None)
    with pytest.raises(ValueError):
        priority(specificity=0.5, support=1, uncertainty=-0.1)
    with pytest.raises(ValueError):
        priority(specificity=0.5, support=-1, uncertainty=None)


def test_the_maths_package_imports_without_django() -> None:
    code = "import sys, annotation.maths; sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
