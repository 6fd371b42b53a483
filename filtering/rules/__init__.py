"""Rule-based filters: pure Python over ``CandidateText``, no Django, standard library only.

``build_rules(config)`` turns a filter configuration (``filtering/config.py``) into rule instances, enabled rules
only, in the fixed order of ``RULE_NAMES``; ``evaluate(rules, candidates)`` runs *every* rule on every
candidate (so overlaps between rules can be reported) and yields each candidate with its verdicts, an empty
list meaning "keep". The tail is tokenised once per candidate and the head's texts once per head.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from filtering.config import validate_config
from filtering.rules.base import Rule
from filtering.rules.blocked import BlockedRule
from filtering.rules.context import Facts, FactsBuilder
from filtering.rules.echo import EchoRule
from filtering.rules.generic import GenericRule, TailStats, tail_stats_from_rows
from filtering.rules.incomplete import IncompleteRule
from filtering.rules.text import JunkRule, LengthRule
from filtering.types import CandidateText, Verdict

__all__ = [
    "RULE_CLASSES",
    "RULE_NAMES",
    "Facts",
    "Rule",
    "TailStats",
    "build_rules",
    "evaluate",
    "tail_stats_from_rows",
]

RULE_CLASSES: dict[str, type[Rule]] = {
    rule.name: rule for rule in (LengthRule, JunkRule, IncompleteRule, EchoRule, GenericRule, BlockedRule)
}
RULE_NAMES: tuple[str, ...] = tuple(RULE_CLASSES)


def build_rules(config: Mapping[str, Any], *, tail_stats: Mapping[str, TailStats] | None = None) -> list[Rule]:
    """The enabled rules of ``config``, in ``RULE_NAMES`` order.

    ``config`` is validated again (cheap, and a validated configuration validates to itself), so a raw or
    partial configuration works too and an invalid one raises ``ConfigError``. ``tail_stats`` are the pool's
    per-tail statistics for the generic rule (keyed by ``tail_norm``); without them only its known phrases apply.
    """
    sections = validate_config(config)["rules"]
    return [
        RULE_CLASSES[name].from_config(sections[name], tail_stats=tail_stats)
        for name in RULE_NAMES
        if sections[name]["enabled"]
    ]


def evaluate(
    rules: Iterable[Rule], candidates: Iterable[CandidateText]
) -> Iterator[tuple[CandidateText, list[Verdict]]]:
    """Each candidate with the verdicts of every rule that fired on it, lazily, in input order."""
    checks = [rule.inspect for rule in rules]
    facts_of = FactsBuilder()
    for candidate in candidates:
        facts = facts_of(candidate)
        verdicts = []
        for check in checks:
            verdict = check(facts)
            if verdict is not None:
                verdicts.append(verdict)
        yield candidate, verdicts
