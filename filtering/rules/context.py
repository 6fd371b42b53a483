"""What the rules read from one candidate, computed once: tokens, content words, and the head's comparable texts.

Every rule sees a ``Facts`` object instead of the bare ``CandidateText`` so that the tail is tokenised once per
candidate, not once per rule, and the head's texts (query, titles, product types) once per head within one
``FactsBuilder`` (``evaluate`` keeps one builder for its whole run). Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from filtering.types import CandidateText

# A compact English stopword list: function words that carry no content on their own. A tail made only of
# these says nothing ("to the", "it is what it is"); echo overlap ignores them.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each either else etc ever every few for
    from further had has have having he her here hers herself him himself his how however i if in into is it
    its itself just me might more most must my myself neither no nor not now of off on once only onto or other
    our ours ourselves out over own per same shall she should so some such than that the their theirs them
    themselves then there these they this those though through thus to too under until up upon us very via
    was we were what when where whether which while who whom whose why will with within without would yet you
    your yours yourself yourselves
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
ARTICLES: frozenset[str] = frozenset({"a", "an", "the", "some"})

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_DIGIT = re.compile(r"\d")
_TRAILING_PUNCTUATION = " .!?;,:…"
# The head noun phrase of a product title ends where its modifiers start (first comma, dash, bar, bracket, or a
# "with/for/in/by" phrase): "Brightsmile Sonic Toothbrush with 2 Heads, white" -> "brightsmile sonic toothbrush".
_TITLE_MODIFIERS = re.compile(r",|;|\s[-–—|/]\s|\(|\[|\s(?:with|for|in|by|from|featuring|including|incl)\s")
_KEY_CACHE_LIMIT = 200_000
_HEAD_CACHE_LIMIT = 100_000


def normalize(text: str) -> str:
    """Same as ``knowledge.ingest.parsing.normalize_text`` (which made ``tail_norm``), kept here dependency-free."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).rstrip(_TRAILING_PUNCTUATION)


def words_of(norm: str) -> list[str]:
    """Word tokens of a normalised text: runs of letters and digits, apostrophes kept inside a word."""
    return _WORD.findall(norm)


def stem(word: str) -> str:
    """A light plural stripper (boots -> boot, boxes -> box, batteries -> battery; not glass, bus, analysis)."""
    if len(word) > 3 and word[-1] == "s" and word[-2] not in "isu'’":
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        if word.endswith(("sses", "ches", "shes", "xes", "zes")):
            return word[:-2]
        return word[:-1]
    return word


_KEYS: dict[str, str] = {}


def content_key(word: str) -> str:
    """The comparison key of a word: its stem, or "" for a stopword. Memoised (a vocabulary is small)."""
    key = _KEYS.get(word)
    if key is None:
        if len(_KEYS) >= _KEY_CACHE_LIMIT:
            _KEYS.clear()
        key = _KEYS[word] = "" if word in STOPWORDS else stem(word)
    return key


def content_keys(words: list[str]) -> frozenset[str]:
    """The content keys of a text's words (stopwords dropped, plurals folded)."""
    keys = _KEYS
    out = {key if (key := keys.get(word)) is not None else content_key(word) for word in words}
    out.discard("")
    return frozenset(out)


def strip_articles(norm: str, words: list[str]) -> str:
    """The text without a leading article ("a portable charger" -> "portable charger"), for exact comparisons."""
    if words and words[0] in ARTICLES and norm.startswith(words[0] + " "):
        return norm[len(words[0]) + 1 :]
    return norm


def product_types(title_norm: str) -> tuple[str, ...]:
    """The product type guessed from a normalised title: the last one and two words of its head noun phrase.

    Finding a title's head noun phrase properly needs a parser; the heuristic cuts the title at its first
    modifier (comma, " - ", "(", " with ", " for " ...), drops words with digits (sizes, model numbers) and keeps
    the last one and two words: "chargeup 20000mah portable charger, usb-c pd, blue" -> ("charger",
    "portable charger"). Category names are a separate echo source ("category" in the echo rule's ``sources``).
    """
    head = _TITLE_MODIFIERS.split(title_norm, maxsplit=1)[0]
    words = [word for word in words_of(head) if _DIGIT.search(word) is None]
    if not words:
        return ()
    if len(words) == 1:
        return (words[-1],)
    return (words[-1], f"{words[-2]} {words[-1]}")


@dataclass(frozen=True, slots=True)
class Text:
    """A normalised text: ``norm`` (like ``tail_norm``), ``core`` (without a leading article), content ``keys``."""

    norm: str
    core: str
    keys: frozenset[str]


def text_of(raw: str) -> Text:
    norm = normalize(raw)
    words = words_of(norm)
    return Text(norm, strip_articles(norm, words), content_keys(words))


@dataclass(frozen=True, slots=True)
class Source:
    """One head text a tail may echo: what to call it in a reason, its comparable form and its content keys."""

    label: str
    norm: str
    keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class HeadFacts:
    """The head's texts, normalised once per head.

    ``texts`` are compared whole (exact match, edit similarity), without a leading article: the query, each
    title, the plain head text, the product types (``product_types``) and the category names; ``exact`` and
    ``same_keys`` index them by text and by content keys for the exact checks. ``bags`` are compared by
    content-token overlap: the query, all titles together (a co_buy tail naming both products echoes "the
    product titles"), the plain head text. ``keys`` is the union of all their content keys: a tail sharing none
    of them cannot echo the head by overlap or edit similarity.
    """

    texts: tuple[Source, ...]
    bags: tuple[Source, ...]
    exact: dict[str, tuple[Source, ...]]
    same_keys: dict[frozenset[str], tuple[Source, ...]]
    keys: frozenset[str]


EMPTY_HEAD = HeadFacts((), (), {}, {}, frozenset())


class _TextCache:
    """Normalised texts and title product types by raw text: a product's title recurs in many heads."""

    __slots__ = ("texts", "types")

    def __init__(self) -> None:
        self.texts: dict[str, Text] = {}
        self.types: dict[str, tuple[Text, ...]] = {}

    def text(self, raw: str) -> Text:
        found = self.texts.get(raw)
        if found is None:
            if len(self.texts) >= _HEAD_CACHE_LIMIT:
                self.texts.clear()
            found = self.texts[raw] = text_of(raw)
        return found

    def title_types(self, raw: str) -> tuple[Text, ...]:
        found = self.types.get(raw)
        if found is None:
            if len(self.types) >= _HEAD_CACHE_LIMIT:
                self.types.clear()
            found = self.types[raw] = tuple(text_of(kind) for kind in product_types(self.text(raw).norm))
        return found


def head_facts(
    query: str,
    titles: tuple[str, ...],
    categories: tuple[str, ...],
    head_text: str,
    *,
    cache: _TextCache | None = None,
) -> HeadFacts:
    """The ``HeadFacts`` of a head given by its query, product titles, categories and plain head text."""
    if not (query or titles or categories or head_text):
        return EMPTY_HEAD
    cache = cache or _TextCache()
    texts: list[Source] = []
    bags: list[Source] = []
    if query:
        text = cache.text(query)
        texts.append(Source("query", text.core, text.keys))
        bags.append(Source("query", text.norm, text.keys))
    title_keys: set[str] = set()
    types: list[Text] = []
    for title in titles:
        text = cache.text(title)
        texts.append(Source("product title", text.core, text.keys))
        title_keys |= text.keys
        types.extend(cache.title_types(title))
    if titles:
        label = "product titles" if len(titles) > 1 else "product title"
        bags.append(Source(label, " | ".join(cache.text(title).norm for title in titles), frozenset(title_keys)))
    for kind in types:
        texts.append(Source("product type", kind.core, kind.keys))
    for category in categories:
        text = cache.text(category)
        texts.append(Source("category", text.core, text.keys))
    if head_text:
        text = cache.text(head_text)
        texts.append(Source("head", text.core, text.keys))
        bags.append(Source("head", text.norm, text.keys))
    unique = tuple(dict.fromkeys(source for source in texts if source.norm))
    exact: dict[str, tuple[Source, ...]] = {}
    same_keys: dict[frozenset[str], tuple[Source, ...]] = {}
    every_key: set[str] = set()
    for source in unique:
        exact[source.norm] = (*exact.get(source.norm, ()), source)
        if source.keys:
            same_keys[source.keys] = (*same_keys.get(source.keys, ()), source)
            every_key |= source.keys
    bags = [bag for bag in bags if bag.keys]
    for bag in bags:
        every_key |= bag.keys
    return HeadFacts(unique, tuple(bags), exact, same_keys, frozenset(every_key))


class Facts:
    """One candidate as the rules see it. ``words`` come from ``tail_norm``; ``keys`` are its content stems."""

    __slots__ = ("candidate", "core", "head", "keys", "norm", "tail", "words")

    def __init__(self, candidate: CandidateText, head: HeadFacts) -> None:
        self.candidate = candidate
        self.tail = candidate.tail
        norm = self.norm = candidate.tail_norm
        words = self.words = norm.split() if norm.replace(" ", "").isalnum() else _WORD.findall(norm)
        self.keys = content_keys(words)
        self.core = strip_articles(norm, words)
        self.head = head


class FactsBuilder:
    """Makes ``Facts``, reusing the head's ``HeadFacts`` across the candidates of one head (bounded caches)."""

    __slots__ = ("_cache", "_heads")

    def __init__(self) -> None:
        self._heads: dict[tuple[str, tuple[str, ...], tuple[str, ...], str], HeadFacts] = {}
        self._cache = _TextCache()

    def __call__(self, candidate: CandidateText) -> Facts:
        key = (candidate.query, candidate.titles, candidate.categories, candidate.head_text)
        head = self._heads.get(key)
        if head is None:
            if len(self._heads) >= _HEAD_CACHE_LIMIT:
                self._heads.clear()
            head = self._heads[key] = head_facts(*key, cache=self._cache)
        return Facts(candidate, head)
