"""The filter configuration: its defaults (``DEFAULT_CONFIG``, version 1) and its validation. Standard library only.

A filter run stores the configuration it ran with, so ``validate_config`` returns a *complete* configuration:
every key present, defaults filled in, phrase lists normalised like ``tail_norm``. A stored configuration
therefore says exactly what ran, even after the defaults change (bump ``CONFIG_VERSION`` when a key changes
meaning). Anything not understood is an error rather than ignored: a misspelt parameter must not silently fall
back to its default. The rules' parameter dataclasses (``filtering/rules``) have exactly these keys.
"""

from __future__ import annotations

import copy
import json
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex

CONFIG_VERSION = 1
ENCODERS = ("minilm", "tfidf")
MAX_PATTERN_LENGTH = 300  # characters of one blocked pattern
MAX_PATTERNS = 100  # blocked patterns in one configuration
ECHO_SOURCES = ("query", "title", "product_type", "category", "head")

# fmt: off
# Whole tails that are a placeholder, not an answer.
PLACEHOLDERS: tuple[str, ...] = (
    "n/a", "na", "none", "null", "nil", "nan", "undefined", "unknown", "tbd", "todo", "error", "placeholder",
    "no answer", "not applicable", "lorem ipsum",
)

# Substrings that only a generation or template artefact leaves in a tail.
MARKERS: tuple[str, ...] = (
    "lorem ipsum", "<|", "|>", "{", "}", "[error]", "\\n", "\\t", "&nbsp;", "&amp;", "as an ai",
)

# Final words or phrases after which a statement cannot end ("in" and "on" are left out: "a cozy night in",
# "slip on").
DANGLING_ENDINGS: tuple[str, ...] = (
    "for", "to", "the", "a", "an", "and", "or", "of", "with", "because", "such as", "like", "is", "are", "can",
    "used for", "in order to", "because the product is used for", "so that", "as well as", "which", "that", "their",
    "its", "from", "than", "but", "into", "such", "was", "were", "will", "be", "being", "could", "would", "should",
    "this", "these", "your", "my", "at", "during", "between", "among", "toward", "towards", "onto", "whose",
    "whether", "although",
)

# Tails that fit any product: generic whatever the pool says.
KNOWN_GENERIC_TAILS: tuple[str, ...] = (
    "used for the same reason", "it is a good product", "a good product", "people like it", "for daily use",
    "daily use", "for everyday use", "everyday use", "general use", "personal use", "good quality", "high quality",
    "a product", "an item", "a thing", "something", "anything", "useful", "it is useful", "something useful", "good",
    "great", "nice", "the product", "products", "many purposes", "many different purposes", "various purposes",
    "a variety of uses", "various reasons", "many reasons", "the same purpose", "everyone", "anyone", "people",
    "customers", "use it", "buy it", "have it", "be used", "work well", "any occasion", "everyday life",
    "daily life", "anywhere", "everywhere", "many places", "any time", "anytime", "daily activities", "a person",
    "a customer", "a shopper", "a consumer", "a user", "someone", "consumers", "users", "all ages", "buy a product",
    "buy something", "do its job", "other products", "other items", "items", "things", "shopping", "buying things",
    "their needs",
)
# fmt: on

DEFAULT_CONFIG: dict[str, Any] = {
    "version": CONFIG_VERSION,
    "rules": {
        "length": {"enabled": True, "min_tokens": 1, "max_tokens": 16},
        "junk": {
            "enabled": True,
            "max_symbol_ratio": 0.25,
            "max_digit_ratio": 0.5,
            "max_ngram": 3,
            "min_repeats": 3,
            "placeholders": list(PLACEHOLDERS),
            "markers": list(MARKERS),
        },
        "incomplete": {
            "enabled": True,
            "dangling_endings": list(DANGLING_ENDINGS),
            "check_brackets": True,
            "require_content_word": True,
        },
        "echo": {
            "enabled": True,
            "sources": ["query", "title", "product_type", "head"],
            "max_token_overlap": 0.75,
            "max_edit_similarity": 0.85,
            "min_content_tokens": 2,
        },
        "generic": {
            "enabled": True,
            "min_distinct_heads": 8,
            "min_distinct_categories": 4,
            "min_category_entropy": 1.5,
            "known_generic_tails": list(KNOWN_GENERIC_TAILS),
        },
        "blocked": {"enabled": True, "terms": [], "patterns": [], "pii": True},
    },
    "similarity": {
        "enabled": True,
        "encoder": "minilm",
        "max_head_similarity": 0.7,  # measured on the check set: no good tail above 0.63 with MiniLM
        # the TF-IDF fallback's threshold (its cosine to the closest head part): lexical cosines sit lower than a
        # sentence model's; measured on the check set: no good tail above 0.39, most echoes of the query above 0.45
        "tfidf_max_head_similarity": 0.45,
        "duplicate_similarity": 0.92,
        "batch_size": 256,
    },
}


class ConfigError(Exception):
    """A configuration value that cannot be used: where it is (a dotted path) and what is wrong with it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class _Field:
    """How one parameter is checked. ``kind`` picks the check; ``not_below`` names a sibling it must be >= to."""

    kind: str
    low: float | None = None
    high: float | None = None
    not_below: str | None = None
    choices: tuple[str, ...] = ()


_RATIO = _Field("ratio", 0, 1)
_UNIT = _Field("unit", 0, 1)
_PHRASES = _Field("phrases")
_BOOL = _Field("bool")

_RULE_SCHEMA: dict[str, dict[str, _Field]] = {
    "length": {
        "enabled": _BOOL,
        "min_tokens": _Field("int", 0),
        "max_tokens": _Field("int", 1, not_below="min_tokens"),
    },
    "junk": {
        "enabled": _BOOL,
        "max_symbol_ratio": _RATIO,
        "max_digit_ratio": _RATIO,
        "max_ngram": _Field("int", 1, 8),
        "min_repeats": _Field("int", 2, 100),
        "placeholders": _PHRASES,
        "markers": _Field("strings"),
    },
    "incomplete": {
        "enabled": _BOOL,
        "dangling_endings": _PHRASES,
        "check_brackets": _BOOL,
        "require_content_word": _BOOL,
    },
    "echo": {
        "enabled": _BOOL,
        "sources": _Field("choices", choices=ECHO_SOURCES),
        "max_token_overlap": _RATIO,
        "max_edit_similarity": _RATIO,
        "min_content_tokens": _Field("int", 1),
    },
    "generic": {
        "enabled": _BOOL,
        "min_distinct_heads": _Field("int", 1),
        "min_distinct_categories": _Field("int", 0),
        "min_category_entropy": _Field("number", 0),
        "known_generic_tails": _PHRASES,
    },
    "blocked": {
        "enabled": _BOOL,
        "terms": _Field("strings"),
        "patterns": _Field("patterns"),
        "pii": _BOOL,
    },
}
_SIMILARITY_SCHEMA: dict[str, _Field] = {
    "enabled": _BOOL,
    "encoder": _Field("encoder"),
    "max_head_similarity": _UNIT,
    "tfidf_max_head_similarity": _UNIT,
    "duplicate_similarity": _UNIT,
    "batch_size": _Field("int", 1, 8192),
}
_SECTIONS = ("version", "rules", "similarity")
_TRAILING_PUNCTUATION = " .!?;,:…"


def validate_config(raw: object) -> dict[str, Any]:
    """The complete, normalised configuration for ``raw`` (``None`` or ``{}`` give the defaults).

    Raises ``ConfigError`` for the first problem found, naming its path, e.g.
    ``rules.length.min_tokens: must be an integer >= 0, got -3``. Validating a validated configuration returns
    an equal one.
    """
    if raw is None:
        raw = {}
    root = _mapping(raw, "config")
    _no_unknown(root, _SECTIONS, "", "section")
    version = root.get("version", CONFIG_VERSION)
    if type(version) is not int or version != CONFIG_VERSION:
        raise ConfigError("version", f"must be {CONFIG_VERSION}, got {_show(version)}")
    rules_raw = _mapping(root.get("rules", {}), "rules")
    _no_unknown(rules_raw, tuple(_RULE_SCHEMA), "rules.", "rule")
    rules: dict[str, Any] = {}
    for name, schema in _RULE_SCHEMA.items():
        path = f"rules.{name}"
        rules[name] = _section(rules_raw.get(name, {}), schema, DEFAULT_CONFIG["rules"][name], path)
    similarity = _section(root.get("similarity", {}), _SIMILARITY_SCHEMA, DEFAULT_CONFIG["similarity"], "similarity")
    return {"version": CONFIG_VERSION, "rules": rules, "similarity": similarity}


def _section(raw: object, schema: Mapping[str, _Field], defaults: Mapping[str, Any], path: str) -> dict[str, Any]:
    values = _mapping(raw, path)
    _no_unknown(values, tuple(schema), f"{path}.", "parameter")
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        value = values[key] if key in values else copy.deepcopy(defaults[key])
        out[key] = _value(value, spec, f"{path}.{key}")
    for key, spec in schema.items():
        if spec.not_below is not None and out[key] < out[spec.not_below]:
            raise ConfigError(
                f"{path}.{key}", f"must be >= {spec.not_below} ({out[spec.not_below]}), got {_show(out[key])}"
            )
    return out


def _value(value: object, spec: _Field, path: str) -> Any:
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(path, f"must be true or false, got {_show(value)}")
        return value
    if kind == "int":
        if type(value) is not int or not _within(value, spec):
            raise ConfigError(path, f"must be an integer {_range(spec)}, got {_show(value)}")
        return value
    if kind in ("ratio", "unit", "number"):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value  # NaN != NaN
        if not ok or not _within(value, spec):  # type: ignore[arg-type]
            raise ConfigError(path, f"must be a number {_range(spec)}, got {_show(value)}")
        return float(value)  # type: ignore[arg-type]
    if kind == "encoder":
        if not isinstance(value, str) or not (value in ENCODERS or os.path.isabs(value)):
            raise ConfigError(path, f'must be "minilm", "tfidf" or an absolute path to a model, got {_show(value)}')
        return value
    items = _string_list(value, path)
    if kind == "phrases":
        return _unique([_phrase(item, f"{path}[{i}]") for i, item in enumerate(items)])
    if kind == "strings":
        return _unique([_casefolded(item, f"{path}[{i}]") for i, item in enumerate(items)])
    if kind == "patterns":
        if len(items) > MAX_PATTERNS:
            raise ConfigError(path, f"has {len(items)} regular expressions; the maximum is {MAX_PATTERNS}")
        for i, pattern in enumerate(items):
            _pattern(pattern, f"{path}[{i}]")
        return list(items)
    if kind == "choices":
        for i, item in enumerate(items):
            if item not in spec.choices:
                raise ConfigError(f"{path}[{i}]", f"must be one of {', '.join(spec.choices)}, got {_show(item)}")
        return _unique(items)
    raise AssertionError(f"unknown field kind {kind}")  # pragma: no cover


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"must be an object, got {_type_name(value)}")
    return value


def _no_unknown(values: Mapping[str, Any], known: tuple[str, ...], prefix: str, what: str) -> None:
    for key in values:
        if key not in known:
            raise ConfigError(f"{prefix}{key}", f"unknown {what}; expected one of {', '.join(known)}")


def _within(value: float, spec: _Field) -> bool:
    if spec.kind == "unit":
        return 0 < value <= 1
    return (spec.low is None or value >= spec.low) and (spec.high is None or value <= spec.high)


def _range(spec: _Field) -> str:
    if spec.kind == "unit":
        return "in (0, 1]"
    if spec.kind == "ratio":
        return "in [0, 1]"
    low = None if spec.low is None else _number(spec.low)
    high = None if spec.high is None else _number(spec.high)
    if low is not None and high is not None:
        return f"in {low}..{high}" if spec.kind == "int" else f"in [{low}, {high}]"
    if low is not None:
        return f">= {low}"
    return f"<= {high}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _string_list(value: object, path: str) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ConfigError(path, f"must be a list of strings, got {_type_name(value)} {_show(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{path}[{i}]", f"must be a non-empty string, got {_show(item)}")
    return list(value)


def _phrase(text: str, path: str) -> str:
    """A phrase in the form of ``tail_norm`` (NFKC, case-folded, single spaces, no trailing punctuation)."""
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(_TRAILING_PUNCTUATION)
    if not norm:
        raise ConfigError(path, f"is empty once normalised like a tail, got {_show(text)}")
    return norm


def _casefolded(text: str, path: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _pattern(pattern: str, path: str) -> None:
    """A blocked pattern: valid, at most ``MAX_PATTERN_LENGTH`` characters, and not matching the empty text. Its
    searches are bounded in time by the rule (``filtering.rules.blocked.PATTERN_TIMEOUT_SECONDS``)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConfigError(
            path, f"regular expression is {len(pattern)} characters long; the maximum is {MAX_PATTERN_LENGTH}"
        )
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
        regex.compile(pattern, regex.IGNORECASE)  # the engine the rule searches with (it has a time limit)
    except (re.error, regex.error) as error:
        raise ConfigError(path, f"invalid regular expression {_show(pattern)}: {error}") from None
    if compiled.search("") is not None:
        raise ConfigError(path, f"regular expression {_show(pattern)} matches the empty text, so it blocks every tail")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _type_name(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _show(value: object) -> str:
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= 80 else shown[:79] + "…"
