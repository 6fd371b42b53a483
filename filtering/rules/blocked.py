"""Blocked content: configured terms and patterns, and personal data (e-mail addresses, phone numbers).

Reasons never quote the personal data itself, so verdicts can be stored and shown without spreading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex

from filtering.rules.base import Rule, quoted
from filtering.rules.context import Facts
from filtering.types import Verdict

# Starts only where no address character precedes it, so a long run before an "@" is tried once (linear).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
# A run of digits and phone separators, optionally after "+"; ``phone_number`` then checks its digit groups.
_PHONE_RUN = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d[\d \t().-]{5,}\d(?![\w])")
_DIGIT_GROUP = re.compile(r"\d+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def phone_number(text: str) -> str | None:
    """The first phone-number-like sequence in ``text``, or ``None``.

    A candidate is a run of digits with spaces, dots, dashes or brackets between them ("555-0142",
    "+1 (555) 010-2234", "5550100123") holding 7 to 15 digits, where every digit group after the first has at
    least two digits (so "1 2 3 4 5 6 7" is not one), and which is not an ISO date or a pair of years
    ("2019-2024"). Sizes, years and model numbers ("size 10", "2024", "iPhone 15", "4K") are too short.
    """
    if _PHONE_RUN.search(text) is None:
        return None
    for match in _PHONE_RUN.finditer(text):
        run = match.group()
        groups = _DIGIT_GROUP.findall(run)
        digits = sum(len(group) for group in groups)
        if not 7 <= digits <= 15:
            continue
        if any(len(group) < 2 for group in groups[1:]):
            continue
        if _ISO_DATE.fullmatch(run.strip()) or (len(groups) == 2 and all(len(g) == 4 for g in groups)):
            continue
        return run
    return None


# The most one search of one admin-supplied pattern may take. A pattern that backtracks past it on a tail drops
# that tail with a reason naming the pattern (fail closed: a blocked pattern that cannot be checked cannot clear
# the tail); the filter report shows such drops, and a re-run with a simpler pattern brings them back.
PATTERN_TIMEOUT_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class BlockedParams:
    terms: tuple[str, ...]
    patterns: tuple[str, ...]
    pii: bool


class BlockedRule(Rule):
    """Fires on a blocked term, a blocked pattern, or (with ``pii``) an e-mail address or phone number.

    ``terms`` match whole words, case-insensitively, in ``tail_norm`` (a term of several words matches across
    any whitespace); ``patterns`` are regular expressions searched case-insensitively in the raw tail.
    """

    name = "blocked"
    Params = BlockedParams
    params: BlockedParams

    def __init__(self, params: BlockedParams) -> None:
        super().__init__(params)
        terms = sorted({" ".join(term.casefold().split()) for term in params.terms}, key=len, reverse=True)
        alternatives = "|".join(r"\s+".join(map(re.escape, term.split())) for term in terms if term)
        self._terms = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if alternatives else None
        self._patterns = tuple((pattern, regex.compile(pattern, regex.IGNORECASE)) for pattern in params.patterns)

    def inspect(self, facts: Facts) -> Verdict | None:
        if self._terms is not None and (found := self._terms.search(facts.norm)) is not None:
            return self.verdict(1.0, f"tail contains the blocked term {quoted(found.group())}", term=found.group())
        tail = facts.tail
        for pattern, compiled in self._patterns:
            try:
                found = compiled.search(tail, timeout=PATTERN_TIMEOUT_SECONDS)
            except TimeoutError:
                return self.verdict(
                    1.0,
                    f"tail could not be checked against the blocked pattern {quoted(pattern)} within "
                    f"{PATTERN_TIMEOUT_SECONDS * 1000:.0f} ms (the pattern backtracks too much: simplify it)",
                    pattern=pattern,
                    timed_out=True,
                )
            if found is not None:
                return self.verdict(1.0, f"tail matches the blocked pattern {quoted(pattern)}", pattern=pattern)
        if self.params.pii:
            if "@" in tail and EMAIL.search(tail) is not None:
                return self.verdict(1.0, "tail contains an e-mail address", pii="email")
            run = phone_number(tail)
            if run is not None:
                digits = sum(char.isdigit() for char in run)
                return self.verdict(1.0, f"tail contains a phone-number-like sequence ({digits} digits)", pii="phone")
        return None
