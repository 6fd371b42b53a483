"""Filter configuration validation (filtering/config.py): defaults, normalisation, and errors that name the path."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from filtering.config import CONFIG_VERSION, DEFAULT_CONFIG, ConfigError, validate_config
from filtering.rules import RULE_CLASSES, RULE_NAMES


def error(raw: object) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_config(raw)
    return str(caught.value)


def with_rule(name: str, **params: Any) -> dict[str, Any]:
    return {"rules": {name: params}}


def test_an_empty_configuration_is_the_complete_default() -> None:
    assert validate_config({}) == DEFAULT_CONFIG
    assert validate_config(None) == DEFAULT_CONFIG
    assert validate_config(DEFAULT_CONFIG) == DEFAULT_CONFIG


def test_a_stored_version_1_configuration_without_the_tfidf_threshold_gets_its_default() -> None:
    old = {"version": 1, "similarity": {"enabled": True, "encoder": "tfidf", "max_head_similarity": 0.6}}
    similarity = validate_config(old)["similarity"]
    assert similarity["max_head_similarity"] == 0.6
    assert similarity["tfidf_max_head_similarity"] == DEFAULT_CONFIG["similarity"]["tfidf_max_head_similarity"]


def test_the_default_configuration_is_json_serialisable_and_versioned() -> None:
    assert json.loads(json.dumps(DEFAULT_CONFIG)) == DEFAULT_CONFIG
    assert DEFAULT_CONFIG["version"] == CONFIG_VERSION == 1
    assert list(DEFAULT_CONFIG["rules"]) == list(RULE_NAMES)
    assert set(DEFAULT_CONFIG["similarity"]) == {
        "enabled",
        "encoder",
        "max_head_similarity",
        "tfidf_max_head_similarity",
        "duplicate_similarity",
        "batch_size",
    }


def test_validating_twice_changes_nothing() -> None:
    once = validate_config(with_rule("incomplete", dangling_endings=["  Used  For. ", "such as"]))
    assert validate_config(once) == once


def test_missing_keys_are_filled_with_defaults() -> None:
    config = validate_config({"rules": {"length": {"min_tokens": 2}}})
    assert config["rules"]["length"] == {"enabled": True, "min_tokens": 2, "max_tokens": 16}
    assert config["rules"]["echo"] == DEFAULT_CONFIG["rules"]["echo"]
    assert config["similarity"] == DEFAULT_CONFIG["similarity"]


def test_the_returned_configuration_is_a_copy() -> None:
    config = validate_config({})
    config["rules"]["generic"]["known_generic_tails"].append("changed")
    config["rules"]["length"]["min_tokens"] = 9
    assert "changed" not in DEFAULT_CONFIG["rules"]["generic"]["known_generic_tails"]
    assert DEFAULT_CONFIG["rules"]["length"]["min_tokens"] == 1


def test_every_rules_parameters_match_its_configuration_keys() -> None:
    for name, rule_class in RULE_CLASSES.items():
        fields = {field.name for field in dataclasses.fields(rule_class.Params)}
        assert fields == set(DEFAULT_CONFIG["rules"][name]) - {"enabled"}, name


def test_phrase_lists_are_normalised_like_tails_and_deduplicated() -> None:
    config = validate_config(with_rule("incomplete", dangling_endings=["  Used  For. ", "used for", "SUCH AS"]))
    assert config["rules"]["incomplete"]["dangling_endings"] == ["used for", "such as"]
    config = validate_config(with_rule("blocked", terms=["Fake  Review", "fake review"]))
    assert config["rules"]["blocked"]["terms"] == ["fake review"]


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    config = validate_config(with_rule("echo", max_token_overlap=1))
    assert config["rules"]["echo"]["max_token_overlap"] == 1.0
    assert isinstance(config["rules"]["echo"]["max_token_overlap"], float)


def test_a_negative_minimum_is_reported_with_its_path() -> None:
    assert error(with_rule("length", min_tokens=-3)) == "rules.length.min_tokens: must be an integer >= 0, got -3"


def test_config_error_carries_the_path_and_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(with_rule("length", min_tokens=-3))
    assert isinstance(caught.value, Exception)
    assert caught.value.path == "rules.length.min_tokens"
    assert caught.value.message == "must be an integer >= 0, got -3"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "config: must be an object, got list"),
        ({"rules": []}, "rules: must be an object, got list"),
        ({"rules": {"length": "on"}}, "rules.length: must be an object, got string"),
        ({"filters": {}}, "filters: unknown section; expected one of version, rules, similarity"),
        ({"version": 2}, "version: must be 1, got 2"),
        ({"version": True}, "version: must be 1, got true"),
    ],
)
def test_the_shape_of_the_configuration_is_checked(raw: object, message: str) -> None:
    assert error(raw) == message


def test_an_unknown_rule_is_rejected() -> None:
    assert error({"rules": {"astrology": {"enabled": True}}}) == (
        "rules.astrology: unknown rule; expected one of length, junk, incomplete, echo, generic, blocked"
    )


def test_an_unknown_parameter_is_rejected_not_ignored() -> None:
    assert error(with_rule("length", min_token=2)) == (
        "rules.length.min_token: unknown parameter; expected one of enabled, min_tokens, max_tokens"
    )
    assert error({"similarity": {"threshold": 0.9}}).startswith("similarity.threshold: unknown parameter")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_rule("length", enabled="yes"), 'rules.length.enabled: must be true or false, got "yes"'),
        (with_rule("length", min_tokens=True), "rules.length.min_tokens: must be an integer >= 0, got true"),
        (with_rule("length", max_tokens=3.0), "rules.length.max_tokens: must be an integer >= 1, got 3.0"),
        (with_rule("junk", max_ngram="3"), 'rules.junk.max_ngram: must be an integer in 1..8, got "3"'),
        (
            with_rule("echo", max_token_overlap="high"),
            'rules.echo.max_token_overlap: must be a number in [0, 1], got "high"',
        ),
        (
            with_rule("echo", max_edit_similarity=False),
            "rules.echo.max_edit_similarity: must be a number in [0, 1], got false",
        ),
        (
            with_rule("generic", min_category_entropy=None),
            "rules.generic.min_category_entropy: must be a number >= 0, got null",
        ),
        (with_rule("blocked", pii=1), "rules.blocked.pii: must be true or false, got 1"),
        ({"similarity": {"batch_size": 256.0}}, "similarity.batch_size: must be an integer in 1..8192, got 256.0"),
    ],
)
def test_wrong_types_are_rejected_and_a_bool_is_not_a_number(raw: object, message: str) -> None:
    assert error(raw) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_rule("junk", max_symbol_ratio=1.5), "rules.junk.max_symbol_ratio: must be a number in [0, 1], got 1.5"),
        (
            with_rule("echo", max_token_overlap=-0.1),
            "rules.echo.max_token_overlap: must be a number in [0, 1], got -0.1",
        ),
        (with_rule("junk", min_repeats=1), "rules.junk.min_repeats: must be an integer in 2..100, got 1"),
        (
            with_rule("generic", min_distinct_heads=0),
            "rules.generic.min_distinct_heads: must be an integer >= 1, got 0",
        ),
        (
            with_rule("generic", min_category_entropy=-1),
            "rules.generic.min_category_entropy: must be a number >= 0, got -1",
        ),
        (with_rule("length", min_tokens=5, max_tokens=3), "rules.length.max_tokens: must be >= min_tokens (5), got 3"),
        (
            {"similarity": {"max_head_similarity": 0}},
            "similarity.max_head_similarity: must be a number in (0, 1], got 0",
        ),
        (
            {"similarity": {"duplicate_similarity": 1.01}},
            "similarity.duplicate_similarity: must be a number in (0, 1], got 1.01",
        ),
        ({"similarity": {"batch_size": 0}}, "similarity.batch_size: must be an integer in 1..8192, got 0"),
        ({"similarity": {"batch_size": 8193}}, "similarity.batch_size: must be an integer in 1..8192, got 8193"),
        (
            {"similarity": {"max_head_similarity": float("nan")}},
            "similarity.max_head_similarity: must be a number in (0, 1], got NaN",
        ),
    ],
)
def test_out_of_range_values_are_rejected(raw: object, message: str) -> None:
    assert error(raw) == message


def test_a_minimum_may_equal_its_maximum() -> None:
    assert validate_config(with_rule("length", min_tokens=3, max_tokens=3))["rules"]["length"]["max_tokens"] == 3


@pytest.mark.parametrize("encoder", ["minilm", "tfidf", "/models/e5-small"])
def test_the_encoder_is_a_known_name_or_an_absolute_path(encoder: str) -> None:
    assert validate_config({"similarity": {"encoder": encoder}})["similarity"]["encoder"] == encoder


@pytest.mark.parametrize("encoder", ["bert", "models/e5-small", "", 3])
def test_an_unknown_encoder_or_a_relative_path_is_rejected(encoder: object) -> None:
    assert error({"similarity": {"encoder": encoder}}).startswith(
        'similarity.encoder: must be "minilm", "tfidf" or an absolute path to a model, got '
    )


def test_an_invalid_regular_expression_is_named_with_its_reason() -> None:
    message = error(with_rule("blocked", patterns=[r"best\s+price", "(unclosed"]))
    assert message.startswith('rules.blocked.patterns[1]: invalid regular expression "(unclosed": missing )')


def test_a_pattern_matching_the_empty_text_is_rejected_because_it_would_block_everything() -> None:
    assert error(with_rule("blocked", patterns=["x*"])) == (
        'rules.blocked.patterns[0]: regular expression "x*" matches the empty text, so it blocks every tail'
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("blocked", "terms"),
        ("blocked", "patterns"),
        ("incomplete", "dangling_endings"),
        ("generic", "known_generic_tails"),
        ("junk", "placeholders"),
        ("junk", "markers"),
    ],
)
def test_a_term_list_that_is_not_a_list_is_rejected(name: str, key: str) -> None:
    assert error(with_rule(name, **{key: "gun"})) == f'rules.{name}.{key}: must be a list of strings, got string "gun"'


def test_term_list_items_must_be_non_empty_strings() -> None:
    assert error(with_rule("blocked", terms=["gun", 3])) == "rules.blocked.terms[1]: must be a non-empty string, got 3"
    assert error(with_rule("blocked", terms=["  "])) == 'rules.blocked.terms[0]: must be a non-empty string, got "  "'
    assert error(with_rule("incomplete", dangling_endings=["..."])) == (
        'rules.incomplete.dangling_endings[0]: is empty once normalised like a tail, got "..."'
    )


def test_echo_sources_must_be_known() -> None:
    assert error(with_rule("echo", sources=["query", "brand"])) == (
        'rules.echo.sources[1]: must be one of query, title, product_type, category, head, got "brand"'
    )


def test_an_invalid_value_in_a_copy_of_the_defaults_names_its_path() -> None:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["rules"]["blocked"]["patterns"] = ["(unclosed"]
    assert error(config).startswith("rules.blocked.patterns[0]: invalid regular expression")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_writers_numbering_the_first_configurations_at_once_get_two_versions() -> None:
    """An empty table has no row to lock: both writers would take version 1 without the table lock."""
    import threading

    from django.db import connection

    from filtering.models import FilterConfiguration
    from filtering.services import filter_configuration_active, filter_configuration_create

    FilterConfiguration.objects.all().delete()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(create: bool) -> None:
        try:
            barrier.wait(timeout=10)
            if create:
                filter_configuration_create(config=copy.deepcopy(DEFAULT_CONFIG))
            else:
                filter_configuration_active()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(create,)) for create in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(FilterConfiguration.objects.values_list("version", flat=True)) in ([1], [1, 2])
    assert FilterConfiguration.objects.filter(is_active=True).count() == 1
