"""How a behaviour and a candidate read as plain sentences (pure: no Django).

Annotators see them on every question (curly quotes); the COSMO-LM instruction export writes them into its prompts
(straight quotes, as that format has always had them).

**Statements.** A candidate's statement is its relation's template for the behaviour kind (``search_buy``,
``co_buy``, ``plain``) filled by ``statement_render``. Tails are LLM text of three shapes, which the template names
by the placeholder it uses, so that every relation reads grammatically whatever the shape:

* a *verb phrase*, with or without "to" ("keep the hedges tidy", "to go camping");
* a *gerund* ("hiking in the rain");
* a *noun phrase* ("a tent", "pregnant women").

Placeholders (unknown ones stay as they are; values are inserted once, never filled again):

``{head}``           the plain head, or the bought product's title; ``{product}`` and ``{other_product}`` the titles
                     of a pair's products; ``{query}`` the search, between single quotes;
``{tail}``           the tail, cleaned (below) but otherwise as generated: for old templates;
``{tail_noun}``      the tail as a noun phrase: a verb phrase becomes a gerund ("keep the hedges tidy" -> "keeping
                     the hedges tidy"), for "is used for", "is capable of", "is interested in";
``{tail_bare}``      ``{tail_noun}`` without a leading article ("a tent" -> "tent"), for "is a kind of";
``{to_tail}``        the complement of "wants"/"needs": "to" + a verb phrase ("to keep the hedges tidy"), "to" + the
                     verb of a gerund ("going camping" -> "to go camping"), else the noun phrase ("a tent");
``{for_tail}``       a purpose after "is used": "to" + a verb phrase, else "for" + the noun phrase.

The tail is cleaned first: spaces collapsed, wrapping quotes and trailing punctuation removed, a leading "in order
to"/"so as to" read as "to", a capitalised first word lowercased when it is a known verb, gerund or article.

A verb phrase is recognised by its first word: one of ``VERBS`` (a closed list of base forms common in shopping
tails), or a word of no list followed by a determiner ("prune the roses", "declutter my garage"; not a plural:
"toys the kids love"). Words that are also nouns (``NOUN_VERBS``: "water", "light", "camp"...) count as verbs
alone or before an object or particle ("run", "water the plants", "camp out"; "water bottles" stays a noun
phrase). "to" before an article ("to the beach") is a destination, read as the noun phrase after it. A first word
ending in "-ing" that is not a known noun ("clothing", "bedding") is a gerund. Anything else is a noun phrase, the safe
reading: "is used for X" and "wants X" are grammatical with any noun phrase.

The rendered sentence then starts with a capital (unless its first word has capitals inside, like "iPhone"), has
single spaces, no "to to" or "for to", and ends with exactly one period.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_QUOTES = ("“", "”")
STATEMENT_QUOTES = ("‘", "’")  # the query inside a statement, which questions put in double quotes


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Base forms, each with its gerund where English doubles or drops a letter (the rest add "ing").
_GERUNDS: dict[str, str] = {
    "cut": "cutting",
    "dig": "digging",
    "get": "getting",
    "grip": "gripping",
    "hit": "hitting",
    "jog": "jogging",
    "plan": "planning",
    "put": "putting",
    "run": "running",
    "set": "setting",
    "shop": "shopping",
    "sit": "sitting",
    "skip": "skipping",
    "stop": "stopping",
    "swim": "swimming",
    "trim": "trimming",
    "wrap": "wrapping",
    "chop": "chopping",
    "clip": "clipping",
    "drop": "dropping",
    "mop": "mopping",
    "plug": "plugging",
    "scrub": "scrubbing",
    "ship": "shipping",
    "snap": "snapping",
    "spin": "spinning",
    "stir": "stirring",
    "strap": "strapping",
    "win": "winning",
    "begin": "beginning",
    "knit": "knitting",
    "zip": "zipping",
    "tie": "tying",
    "lie": "lying",
    "die": "dying",
    "dye": "dyeing",
    "see": "seeing",
    "be": "being",
    "flee": "fleeing",
    "free": "freeing",
    "agree": "agreeing",
    "canoe": "canoeing",
    "hoe": "hoeing",
}
VERBS = _words(
    """
    add adjust afford apply arrange assemble attach attract avoid bake balance bathe be beat become begin blend
    block boil bond boost brew bring brush build burn buy calm carry carve catch celebrate change charge check
    chill chop clean clear climb clip close collect colour color combine comfort connect control cook cool cover
    create cross cure cut decorate defend deliver design detect dig display divide do drain draw dress dry
    eat eliminate enhance enjoy entertain escape explore feed feel fill find finish fit fix flatten focus fold
    follow freshen frame freeze gather get give go grab greet grind grip grow guard hang have heal hear heat help
    hide hike hit hold host hunt hydrate identify impress improve insulate invite iron jog join jump keep kill
    kneel knit learn level lift listen load lock look lose maintain make manage measure meet melt mix moisturize
    moisturise monitor mop mount move nourish obtain open organize organise pack paint plan plant play plug
    polish pour practice practise prepare prevent print promote protect pull pump purify put reach read reduce
    relax relieve remember remove repair repel replace rest restore ride rinse roast run save scrub seal see
    sell send serve set sew shade shape sharpen shave shield ship shop show shower sing sit skate ski skip sleep
    slice smooth snap soak soften solve soothe sort spin spray stand start stay stir stop store strap
    strengthen stretch study style support surprise sweep swim take teach tend test tidy tie tighten track
    train transport travel treat trim try turn unwind use vacuum visit wake walk warm wash watch water wear
    weed win wipe work wrap write zip
    """
)
# Verbs that are as often nouns: a verb only before an object or a particle.
NOUN_VERBS = _words(
    """
    brush camp charge clip colour color comfort cover cure design display dress drain fish frame heat hike iron
    jump level light lock mop paint plant play plug print pump rest ride run sail seal shade shape shave shield
    show shower ski sleep smooth snap spray stand start store strap study style support surprise swim test
    tie track train travel treat trim turn vacuum walk warm wash watch water work wrap zip
    """
)
_OBJECT_STARTERS = _words(
    """
    a an the this that these those my your his her its our their one's someone's some any all every each
    it them him me us you themselves himself herself yourself oneself up out off down in on at around away back
    outdoors outside inside indoors safely well better quickly easily together through over along with more
    less fresh clean warm dry
    """
)
# -ing words that are nouns, not gerunds: "wants clothing", never "wants to cloth".
_ING_NOUNS = _words(
    """
    awning bedding bowling building ceiling clothing dressing evening fencing filling flooring frosting icing
    king lighting morning nothing packaging piping railing ring roofing seasoning siding something spring
    string stuffing thing tubing wedding wiring anything everything padding lining bearing housing
    """
)
_ARTICLES = frozenset({"a", "an", "the"})
_TO_PREFIXES = ("in order to ", "so as to ")
_SPACES = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_TRAILING = ".!?;:,…"
_QUOTES = "\"'“”‘’`"


def tail_clean(tail: str) -> str:
    """The tail with spaces collapsed, wrapping quotes and trailing punctuation removed, "in order to" read as
    "to", and a capitalised known verb, gerund or article lowercased ("Keep warm." -> "keep warm")."""
    text = _SPACES.sub(" ", tail).strip()
    while text and (text[0] in _QUOTES or text[-1] in _QUOTES or text[-1] in _TRAILING):
        if text[0] in _QUOTES:
            text = text[1:]
        if text and (text[-1] in _QUOTES or text[-1] in _TRAILING):
            text = text[:-1]
        text = text.strip()
    lowered = text.lower()
    for prefix in _TO_PREFIXES:
        if lowered.startswith(prefix):
            text = "to " + text[len(prefix) :]
            break
    first, _, rest = text.partition(" ")
    word = first.lower()
    if first[:1].isupper() and first[1:] == first[1:].lower() and _is_known_lead(word, rest):
        text = word + (" " + rest if rest else "")
    return text


def _is_known_lead(word: str, rest: str) -> bool:
    return word in ("to", "for") or word in _ARTICLES or word in VERBS or _is_gerund(word)


def _is_gerund(word: str) -> bool:
    return len(word) > 4 and word.endswith("ing") and word not in _ING_NOUNS and word not in VERBS


# What follows a verb of no list as its object: "prune the roses", "declutter my garage".
_DETERMINERS = _words(
    """
    a an the this that these those my your his her its our their one's someone's some it them him me us
    """
)


def _starts_with_verb(text: str) -> bool:
    first, _, rest = text.partition(" ")
    word = first.lower()
    if word not in VERBS and word not in NOUN_VERBS:
        return _unknown_verb_before_object(word, rest)
    if word not in NOUN_VERBS:
        return True
    second = rest.split(" ", 1)[0].lower()
    return not rest or second in _OBJECT_STARTERS


def _unknown_verb_before_object(word: str, rest: str) -> bool:
    """A word of no list read as a verb when a determiner follows it ("prune the roses", "declutter my garage"):
    a noun is rarely followed by one. Not a plural ("toys the kids love": a final -s that is not -ss), an
    article, a determiner, a gerund or an adverb in -ly."""
    second = rest.split(" ", 1)[0].lower()
    if not word.isalpha() or second not in _DETERMINERS:
        return False
    if word in _DETERMINERS or word in _OBJECT_STARTERS or _is_gerund(word) or word.endswith("ly"):
        return False
    return not (word.endswith("s") and not word.endswith("ss"))


def tail_shape(tail: str) -> tuple[str, str]:
    """(shape, core) of a cleaned tail: ``("verb", "keep the hedges tidy")`` for a verb phrase (its "to"
    removed), ``("gerund", "going camping")``, or ``("noun", "a tent")`` (a leading "for " removed)."""
    lowered = tail.lower()
    if lowered.startswith("to "):
        rest = tail[3:].strip()
        first = rest.split(" ", 1)[0].lower()
        if first in VERBS or first in NOUN_VERBS or (first not in _ARTICLES and first not in _OBJECT_STARTERS):
            return "verb", rest
        return "noun", rest  # "to the beach": a destination, not an infinitive; read as "the beach"
    if lowered.startswith("for ") and len(tail) > 4:
        tail = tail[4:].strip()
    if _starts_with_verb(tail):
        return "verb", tail
    if _is_gerund(tail.split(" ", 1)[0].lower()):
        return "gerund", tail
    return "noun", tail


def gerund_of(verb: str) -> str:
    """The -ing form of a base verb: "keep" -> "keeping", "make" -> "making", "run" -> "running"."""
    word = verb.lower()
    if word in _GERUNDS:
        return _GERUNDS[word]
    if word.endswith("ie"):
        return word[:-2] + "ying"
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe")) and len(word) > 2:
        return word[:-1] + "ing"
    return word + "ing"


_BASE_OF_GERUND = {gerund_of(verb): verb for verb in VERBS | NOUN_VERBS}


def _replace_first_word(text: str, word: str) -> str:
    _, _, rest = text.partition(" ")
    return word + (" " + rest if rest else "")


def tail_forms(tail: str) -> dict[str, str]:
    """The placeholder values of a tail (see the module docstring): tail, tail_noun, tail_bare, to_tail,
    for_tail."""
    cleaned = tail_clean(tail)
    shape, core = tail_shape(cleaned)
    if shape == "verb":
        noun = _replace_first_word(core, gerund_of(core.split(" ", 1)[0]))
        to_tail = "to " + core
        for_tail = "to " + core
    elif shape == "gerund":
        noun = core
        base = _BASE_OF_GERUND.get(core.split(" ", 1)[0].lower())
        to_tail = "to " + _replace_first_word(core, base) if base else "to enjoy " + core
        for_tail = "for " + core
    else:
        noun = core
        to_tail = core
        for_tail = "for " + core
    first, _, rest = noun.partition(" ")
    bare = rest if first.lower() in _ARTICLES and rest else noun
    return {"tail": cleaned, "tail_noun": noun, "tail_bare": bare, "to_tail": to_tail, "for_tail": for_tail}


def fill(template: str, values: Mapping[str, str]) -> str:
    """Substitute the template's {name} placeholders in one pass, without str.format: LLM text may contain braces,
    and a value that itself holds a placeholder (a product title with "{tail}") is inserted as it is, not filled
    again. Unknown placeholders stay as they are."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def _finish(sentence: str) -> str:
    """One sentence: single spaces, no doubled "to", "for to" read as "to", a capital first letter (unless the
    first word has capitals inside: "iPhone"), and exactly one final period."""
    text = _SPACES.sub(" ", sentence).strip()
    text = re.sub(r"\bto to\b", "to", text, flags=re.IGNORECASE)
    text = re.sub(r"\bfor to\b", "to", text, flags=re.IGNORECASE)
    text = text.rstrip(" " + _TRAILING)
    first = text.split(" ", 1)[0]
    if first and first == first.lower():
        text = text[0].upper() + text[1:]
    return text + "."


def statement_render(
    *,
    template: str,
    head_kind: str,
    tail: str,
    head_text: str = "",
    query: str | None = None,
    product: str | None = None,
    other_product: str | None = None,
    quotes: tuple[str, str] = STATEMENT_QUOTES,
) -> str:
    """A candidate as one sentence, from its relation's template for ``head_kind`` (see the module docstring)."""
    left, right = quotes
    values = tail_forms(tail)
    product_name = _name(product)
    head = product_name if head_kind in ("search_buy", "co_buy") and product_name else _name(head_text)
    values.update(
        head=head,
        product=product_name or head,
        other_product=_name(other_product),
        query=f"{left}{_name(query)}{right}",
    )
    return _finish(fill(template, values))


def _name(text: str | None) -> str:
    """A title or a query in a sentence: spaces collapsed, a final period dropped (the sentence adds its own)."""
    return _SPACES.sub(" ", text or "").strip().rstrip(".")


def behaviour_sentence(
    *,
    head_kind: str,
    query: str | None,
    product: str | None,
    other_product: str | None,
    head_text: str,
    quotes: tuple[str, str] = DEFAULT_QUOTES,
) -> str:
    """A search then a purchase, two products bought together, or a plain head: "A shopper searched for ..."."""
    left, right = quotes
    if head_kind == "search_buy":
        return f"A shopper searched for {left}{query}{right} and bought {left}{product}{right}."
    if head_kind == "co_buy":
        return f"A shopper bought {left}{product}{right} and {left}{other_product}{right} together."
    return f"About {left}{head_text}{right}."


def categories_distinct(categories: list[str]) -> list[str]:
    """The categories of a behaviour's products, each once, in order (a co-buy within one category shows it
    once)."""
    return list(dict.fromkeys(categories))


# The behaviour a question is about, for a question template's {behaviour} placeholder.
BEHAVIOUR_PHRASES = {
    "search_buy": "this search and this product",
    "co_buy": "these two products bought together",
    "plain": "this subject",
}


def behaviour_phrase(head_kind: str) -> str:
    return BEHAVIOUR_PHRASES.get(head_kind, BEHAVIOUR_PHRASES["plain"])
