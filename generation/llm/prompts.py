"""Question-style prompts per relation and behaviour kind, as COSMO used: the behaviour in words, then a question
that asks for a short numbered list of explanations. Templates use ``{placeholders}`` filled by ``render``."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What each relation asks about the behaviour (used by the default templates).
RELATION_QUESTIONS: dict[str, str] = {
    "used_for_function": "What functions is the product used for?",
    "used_for_event": "For what events or occasions is the product used?",
    "used_for_audience": "For whom is the product meant?",
    "capable_of": "What is the product capable of doing?",
    "used_to": "What does the shopper use the product to do?",
    "used_as": "What is the product used as?",
    "is_a": "What kind of thing is the product?",
    "used_on": "On what occasions or times is the product used?",
    "used_in_location": "Where is the product used?",
    "used_in_body": "On what part of the body is the product used?",
    "used_with": "What other products is it used with?",
    "x_is_a": "What kind of person is the shopper?",
    "x_want": "What does the shopper want?",
    "x_interested_in": "What is the shopper interested in?",
    "x_people": "Who are the people the shopper buys for?",
}

DEFAULT_TEMPLATES: dict[str, str] = {
    "search_buy": (
        'A shopper searched for "{query}" and bought "{product}" ({category}).\n'
        "{question} Answer with a short numbered list of {items} brief explanations, one per line, "
        "each a few words that complete the sentence about the product."
    ),
    "co_buy": (
        'A shopper bought "{product}" and "{other_product}" together.\n'
        "{question} Answer with a short numbered list of {items} brief explanations, one per line, "
        "each a few words."
    ),
}


@dataclass(frozen=True)
class Behaviour:
    head_kind: str
    query: str = ""
    product: str = ""
    other_product: str = ""
    category: str = ""


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def render(template: str, behaviour: Behaviour, relation: str, *, items: int = 5) -> str:
    """Fill a template without ``str.format`` (product titles may contain braces)."""
    values = {
        "query": behaviour.query,
        "product": behaviour.product,
        "other_product": behaviour.other_product,
        "category": behaviour.category or "no category",
        "relation": relation,
        "question": RELATION_QUESTIONS.get(relation, f"Why? ({relation.replace('_', ' ')})"),
        "items": str(items),
    }
    # one pass: a query or title that itself holds "{product}" is sent as it is, never filled in again
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)
