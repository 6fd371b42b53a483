"""Audit statistics against hand-computed values."""

from __future__ import annotations

import pytest

from curation.maths import audit_sample_size, histogram, wilson_interval


def test_wilson_interval_by_hand() -> None:
    # 8 of 10: p = .8, z^2 = 3.8415; centre = (.8 + .19208) / 1.38415 = .71674;
    # half = 1.96 * sqrt(.016 + .009604) / 1.38415 = .22658 -> (.49016, .94332)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.49016, abs=1e-4) and high == pytest.approx(0.94332, abs=1e-4)
    # all correct: the interval stays inside [0, 1] and is not degenerate (unlike the normal approximation)
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(0.83887, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_audit_sample_size_by_hand() -> None:
    # n0 = 1.96^2 * .25 / .05^2 = 384.15; with the finite population correction n = n0 / (1 + (n0 - 1) / N)
    assert audit_sample_size(1_000_000, 0.05) == 384  # 384.15 / 1.000383 = 383.999
    assert audit_sample_size(1000, 0.05) == 278  # 384.15 / 1.38315 = 277.7
    assert audit_sample_size(100, 0.05) == 80  # 384.15 / 4.8315 = 79.5
    assert audit_sample_size(10, 0.05) == 10  # never more than the batch
    assert audit_sample_size(1000, 0.10) == 88  # 96.04 / 1.09504 = 87.7
    assert audit_sample_size(0, 0.05) == 0


def test_histogram() -> None:
    assert histogram([0.0, 0.05, 0.5, 0.99, 1.0], bins=4) == [2, 0, 1, 2]
