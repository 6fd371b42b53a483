"""Text checks shared by the line parser and by other readers of candidate text: normalisation (the dedup
identity), spreadsheet formulas, unstorable characters, and how problems are named (``LineError``). Pure: no
Django."""

from __future__ import annotations

import hashlib
import math
import re
import reprlib
import unicodedata
from dataclasses import dataclass
from typing import Any

_TRAILING_PUNCTUATION = " .!?;,:…"
_SIGNED_NUMBER = re.compile(r"[+-][.,]?[0-9]")
# A sign, a number, then an operator: "-1+cmd|' /C calc'!A0", "+1+HYPERLINK(...)", "-2*3". Spreadsheets parse
# the whole cell as a formula once it starts like a signed number followed by an operator (spaces allowed).
_SIGNED_NUMBER_THEN_OPERATOR = re.compile(r"[+-]\s*[.,]?[0-9][0-9.,]*%?\s*[-+*/^&=<>(|!:;]")
# Characters no single-line field may hold: C0 and C1 controls (ESC, newlines, TAB, ...), DEL, the Unicode line
# and paragraph separators, and the bidirectional embeddings, overrides and isolates that reorder what a reader
# sees (U+202A-U+202E, U+2066-U+2069; "Trojan Source"). The left-to-right and right-to-left marks stay allowed:
# Arabic and Hebrew text needs them and they reorder nothing on their own.
_FORBIDDEN_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CHARACTER_NAMES = {
    "\t": "a TAB",
    "\n": "a line break",
    "\r": "a carriage return",
    "\x1b": "an ESC (terminal escape) character",
    "\x85": "a line break (NEL)",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}
_MAX_NAMES_SHOWN = 10


@dataclass(frozen=True, slots=True)
class LineError:
    """One problem with one line: where it is and what is wrong, in words a data owner understands."""

    file: str
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


# What the readers yield per line: (line number, staging row or errors, raw bytes; None for a file-level problem).
ReadResult = tuple[int, tuple[Any, ...] | list[LineError], bytes | None]


class _BriefRepr(reprlib.Repr):
    """``repr`` cut short: bounded length and depth, escaped NULs and surrogates, and no ``ValueError`` for
    integers too long to print."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = 60
        self.maxother = 60
        self.maxlong = 40
        self.maxlevel = 2

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<a number of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_BRIEF = _BriefRepr()


def _brief(value: Any) -> str:
    """A value from the file, shown in a message: quoted, escaped and at most about 60 characters."""
    return _BRIEF.repr(value)


def _name(value: Any) -> str:
    """A field or column name from the file: as it is when short and printable, else ``_brief``."""
    if isinstance(value, str) and value.isprintable() and 0 < len(value) <= 60:
        return value
    return _brief(value)


def _names(values: Any) -> str:
    shown = sorted(_name(value) for value in values)
    more = f" and {len(shown) - _MAX_NAMES_SHOWN} more" if len(shown) > _MAX_NAMES_SHOWN else ""
    return ", ".join(shown[:_MAX_NAMES_SHOWN]) + more


def spreadsheet_formula(text: str) -> str | None:
    """Why a spreadsheet would run ``text`` as a formula (CSV injection), or None when it would not.

    A formula starts with ``=`` or ``@``, or with ``+`` or ``-`` followed by something other than a number
    ("-20°C rated boots" and "+2 sizes" are text; "-cmd|..." and "+HYPERLINK(...)" are formulas; a lone sign is
    text). A leading TAB or carriage return counts too, as OWASP advises: some spreadsheets skip it.
    """
    first = text[:1]
    if first in ("=", "@"):
        return f"starts with {first!r}, which a spreadsheet would run as a formula (CSV injection)"
    if first in ("\t", "\r"):
        return "starts with a TAB or carriage return, which can hide a spreadsheet formula (CSV injection)"
    if first in ("+", "-") and len(text) > 1:
        if not _SIGNED_NUMBER.match(text):
            return (
                f"starts with {first!r} followed by something other than a number, which a spreadsheet would run "
                "as a formula (CSV injection)"
            )
        if _SIGNED_NUMBER_THEN_OPERATOR.match(text):
            return (
                f"starts with {first!r}, a number and an operator, which a spreadsheet would run as a formula "
                "(CSV injection)"
            )
    return None


def character_problem(text: str) -> str | None:
    """Why ``text`` may not stand in a single-line field, or None: a control character (ESC, a line break, a
    TAB, ...) or a bidirectional override, named with its code point and position."""
    found = _FORBIDDEN_CHARACTER.search(text)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        what = f"a bidirectional override ({code} {unicodedata.name(char)})"
    else:
        what = f"{_CHARACTER_NAMES.get(char, 'a control character')} ({code})"
    return f"contains {what} at character {found.start() + 1}, which this single-line field may not hold"


def _text_problem(value: str) -> str | None:
    """Why text cannot be stored (PostgreSQL refuses NUL and lone surrogates) or shown safely, or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isprintable():
        if any(unicodedata.category(ch) == "Cs" for ch in value if not ch.isprintable()):
            return "is not valid UTF-8"
        if problem := character_problem(value):
            return problem
    return spreadsheet_formula(value)


def normalize_text(text: str) -> str:
    """The form used to decide that two texts are the same: NFKC, case-folded, single spaces, no end punctuation."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).rstrip(_TRAILING_PUNCTUATION)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
