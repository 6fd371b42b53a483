"""Turning an LLM's answer into explanations: numbered or bulleted lists, with stray text around them.

COSMO asked for a short numbered list; models answer with "1. ...", "1) ...", "- ...", bold markers, quotes,
a preamble ("Here are some reasons:") and closing remarks. Only list items are kept when the answer has a list;
an answer without any list marker is counted as unstructured and yields nothing (its lines are rarely clean
explanations). Items are cleaned, bounded in length and de-duplicated; every drop is counted by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# A list item: a marker, spaces, the rest of the line. Linear in the line: the text takes the whole rest (its end
# spaces are stripped in Python), where a lazy ``.+?`` before ``\s*$`` retried the trailing run at every position.
ITEM = re.compile(r"^\s*(?:\(?\d{1,2}[.):]|[-*\u2022])\s+(?P<text>.+)$")
MAX_LENGTH = 200
_EDGES = " \t\"'`*_\u201c\u201d\u2018\u2019"


@dataclass
class Parsed:
    explanations: list[str] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    structured: bool = False


def clean(text: str) -> str:
    text = text.strip(_EDGES)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"^(?:to|because|so that)\s+", "", text, flags=re.IGNORECASE)  # "to grip ice" -> "grip ice"
    return text.rstrip(" .;,:!").strip(_EDGES)


def parse_explanations(answer: str | None, *, max_items: int = 10) -> Parsed:
    parsed = Parsed()
    if not answer or not answer.strip():
        parsed.dropped["empty answer"] += 1
        return parsed
    seen: set[str] = set()
    for line in answer.splitlines():
        match = ITEM.match(line)
        if match is None:
            continue
        parsed.structured = True
        text = clean(match.group("text").strip())
        if not text:
            parsed.dropped["empty item"] += 1
        elif len(text) > MAX_LENGTH:
            parsed.dropped["too long"] += 1
        elif text.casefold() in seen:
            parsed.dropped["duplicate"] += 1
        elif len(parsed.explanations) >= max_items:
            parsed.dropped["over the item limit"] += 1
        else:
            seen.add(text.casefold())
            parsed.explanations.append(text)
    if not parsed.structured:
        parsed.dropped["no list in the answer"] += 1
    return parsed
