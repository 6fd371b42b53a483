"""Incomplete statements: a dangling ending, unbalanced brackets or quotes, or no content word at all."""

from __future__ import annotations

import re
from dataclasses import dataclass

from filtering.rules.base import Rule, quoted
from filtering.rules.context import STOPWORDS, Facts, words_of
from filtering.types import Verdict

__all__ = ["STOPWORDS", "IncompleteParams", "IncompleteRule", "unbalanced"]

_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”"}
_CLOSERS = {closer: opener for opener, closer in _PAIRS.items()}
_BRACKETS = re.compile(r'[()\[\]{}"“”]')


def unbalanced(text: str) -> str | None:
    """The first bracket or quote of ``text`` that is not matched, or ``None`` when all are balanced.

    Pairs are (), [], {} and typographic “ ”, properly nested; ASCII double quotes must come in even number.
    A double quote right after a digit is an inch mark (15.6" laptop) and is not counted.
    """
    if _BRACKETS.search(text) is None:
        return None
    stack: list[str] = []
    quotes = 0
    previous = ""
    for char in text:
        if char in _PAIRS:
            stack.append(char)
        elif char in _CLOSERS:
            if not stack or stack[-1] != _CLOSERS[char]:
                return char
            stack.pop()
        elif char == '"' and not previous.isdigit():
            quotes += 1
        previous = char
    if stack:
        return stack[-1]
    return '"' if quotes % 2 else None


@dataclass(frozen=True, slots=True)
class IncompleteParams:
    dangling_endings: tuple[str, ...]
    check_brackets: bool
    require_content_word: bool


class IncompleteRule(Rule):
    """Fires when the tail stops mid-sentence.

    - its last word tokens are one of ``dangling_endings`` ("for", "such as", "in order to"), matched on the
      normalised tail, so '"for' and '(such as' dangle too; the longest listed ending is named;
    - ``check_brackets``: the raw tail has an unbalanced (), [], {}, “ ” or an odd number of double quotes;
    - ``require_content_word``: every word is a stopword ("to the", "it is what it is").
    """

    name = "incomplete"
    Params = IncompleteParams
    params: IncompleteParams

    def __init__(self, params: IncompleteParams) -> None:
        super().__init__(params)
        endings: dict[str, list[tuple[str, ...]]] = {}
        for phrase in params.dangling_endings:
            words = tuple(words_of(phrase))
            if words:
                endings.setdefault(words[-1], []).append(words)
        self._endings = {last: sorted(set(phrases), key=len, reverse=True) for last, phrases in endings.items()}

    def inspect(self, facts: Facts) -> Verdict | None:
        words = facts.words
        if words:
            phrases = self._endings.get(words[-1])
            if phrases is not None:
                for phrase in phrases:
                    size = len(phrase)
                    if size == 1 or (size <= len(words) and tuple(words[-size:]) == phrase):
                        ending = " ".join(phrase)
                        return self.verdict(
                            0.9 if size > 1 else 0.8, f"tail ends with a dangling {quoted(ending)}", ending=ending
                        )
        if self.params.check_brackets:
            char = unbalanced(facts.tail)
            if char == '"':
                return self.verdict(0.7, "tail has an unmatched double quote", character=char)
            if char is not None:
                return self.verdict(0.7, f"tail has an unbalanced {quoted(char)}", character=char)
        if self.params.require_content_word and words and not facts.keys:
            shown = " ".join(words)
            return self.verdict(1.0, f"tail has no content word (only stopwords: {quoted(shown)})")
        return None
