"""Surface rules: the tail's length in tokens, and junk (symbols, repeated n-grams, text that is not text).

Tokens are the word tokens of ``tail_norm`` (``context.words_of``): "pull-up bands" has three. Character
measures (symbol and digit ratios) read the raw tail, because normalisation strips trailing punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from filtering.rules.base import Rule, quoted
from filtering.rules.context import Facts
from filtering.types import Verdict

_SYMBOL = re.compile(r"[^\w\s]|_")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_ALNUM = re.compile(r"[^\W_]")
_WITHOUT_DIGITS = str.maketrans("", "", "0123456789")
# A URL with a scheme or "www.", or a bare domain with a common top-level domain. Linear in the tail: a bare domain
# starts only where no name character precedes it (so a long "a-a-a-..." run is tried once, not from each of its
# positions), and each label is the characters before a dot, which no other part can take.
_URL = re.compile(r"(?:https?://|www\.)\S+|(?<![\w-])(?<![\w-]\.)(?:[\w-]+\.)+(?:com|net|org|io|co|de|uk)\b(?:/\S*)?")


@dataclass(frozen=True, slots=True)
class LengthParams:
    min_tokens: int
    max_tokens: int


class LengthRule(Rule):
    """Fires when the tail has fewer than ``min_tokens`` or more than ``max_tokens`` word tokens.

    COSMO tails are short phrases; single-word tails are often fine ("backpackers" for used_by), so the default
    minimum only removes tails with no word at all. Very long tails are usually explanations, not knowledge.
    """

    name = "length"
    Params = LengthParams
    params: LengthParams

    def inspect(self, facts: Facts) -> Verdict | None:
        count = len(facts.words)
        low, high = self.params.min_tokens, self.params.max_tokens
        if count < low:
            return self.verdict(1 - count / low, f"tail is too short ({count} tokens, minimum {low})", tokens=count)
        if count > high:
            return self.verdict(
                (count - high) / count, f"tail is too long ({count} tokens, maximum {high})", tokens=count
            )
        return None


@dataclass(frozen=True, slots=True)
class JunkParams:
    max_symbol_ratio: float
    max_digit_ratio: float
    max_ngram: int
    min_repeats: int
    placeholders: tuple[str, ...]
    markers: tuple[str, ...]


class JunkRule(Rule):
    """Fires on text that is not a statement.

    In order of the reason given: a placeholder answer ("n/a", "undefined"), a generation artefact
    (``markers``, searched in ``tail_norm``: "<|endoftext|>", "lorem ipsum", "{"), a URL and nothing else, no
    letters at all ("###", "1. 2. 3."), mostly digits (digits / letters-and-digits above ``max_digit_ratio``),
    too many symbols (non-alphanumeric, non-space characters / length above ``max_symbol_ratio``, which also
    catches emoji soup), and an n-gram of up to ``max_ngram`` words repeated ``min_repeats`` times in a row
    ("great great great", "very good very good very good").
    """

    name = "junk"
    Params = JunkParams
    params: JunkParams

    def __init__(self, params: JunkParams) -> None:
        super().__init__(params)
        self._placeholders = frozenset(params.placeholders)
        markers = sorted(params.markers, key=len, reverse=True)
        self._markers = re.compile("|".join(map(re.escape, markers))) if markers else None

    def inspect(self, facts: Facts) -> Verdict | None:
        norm = facts.norm
        if norm in self._placeholders:
            return self.verdict(1.0, f"tail is a placeholder answer {quoted(norm)}")
        if self._markers is not None and (found := self._markers.search(norm)) is not None:
            return self.verdict(1.0, f"tail contains the generation artefact {quoted(found.group())}")
        tail = facts.tail.strip()
        if not tail.replace(" ", "").isalpha():
            verdict = self._characters(tail)
            if verdict is not None:
                return verdict
        words = facts.words
        if len(words) >= self.params.min_repeats and len(set(words)) < len(words):
            return self._repeats(words)
        return None

    def _characters(self, tail: str) -> Verdict | None:
        if not tail:
            return self.verdict(1.0, "tail is empty")
        compact = tail.replace(" ", "")
        if compact.isascii() and compact.isalnum() and not compact.isdigit():
            # ASCII letters, digits and spaces, at least one letter (most tails that reach here: a size, a
            # number): no URL, no symbol, so only the digit ratio can fire, counted without a regular expression.
            digits = len(compact) - len(compact.translate(_WITHOUT_DIGITS))
            ratio = digits / len(compact)
            if ratio > self.params.max_digit_ratio:
                return self.verdict(ratio, f"tail is mostly digits (digit ratio {ratio:.2f})", digit_ratio=ratio)
            return None
        if _URL.search(tail) and not _LETTER.search(_URL.sub(" ", tail)):
            return self.verdict(1.0, "tail is only a URL")
        if not _LETTER.search(tail):
            return self.verdict(1.0, f"tail has no letters {quoted(tail, 30)}")
        digits = len(_DIGIT.findall(tail))
        if digits:
            ratio = digits / len(_ALNUM.findall(tail))
            if ratio > self.params.max_digit_ratio:
                return self.verdict(ratio, f"tail is mostly digits (digit ratio {ratio:.2f})", digit_ratio=ratio)
        ratio = len(_SYMBOL.findall(tail)) / len(tail)
        if ratio > self.params.max_symbol_ratio:
            return self.verdict(ratio, f"tail is mostly symbols (symbol ratio {ratio:.2f})", symbol_ratio=ratio)
        return None

    def _repeats(self, words: list[str]) -> Verdict | None:
        repeats = self.params.min_repeats
        total = len(words)
        for size in range(1, self.params.max_ngram + 1):
            for start in range(total - size * repeats + 1):
                gram = words[start : start + size]
                count = 1
                while words[start + count * size : start + (count + 1) * size] == gram:
                    count += 1
                if count >= repeats:
                    phrase = " ".join(gram)
                    return self.verdict(
                        count * size / total,
                        f"tail repeats {quoted(phrase)} {count} times",
                        ngram=phrase,
                        repeats=count,
                    )
        return None
