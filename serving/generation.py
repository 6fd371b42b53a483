"""What the asynchronous cache asks a model: the small interface that generation backends plug into.

``serving_generate_for_key(key=...)`` prompts the configured serving backend (``PLAUSI_SERVING["BACKEND"]``) for
each of ``RELATIONS`` about the key, parses the numbered answers as generation runs do, and judges the tails with
the active classifiers (the lowest of their scores, as batches use; no active classifier: scores are null). It
runs on a worker only (the ``serving.generate_for_key`` task), never in a request.

Backends are registered by name (``serving_backend_register``): ``openai`` and ``local`` are the generation app's
(generation/llm/backends.py), ``scripted`` answers from a fixed list (tests, the demo: no model needed),
``cosmo_lm`` runs the active COSMO-LM version (the ``lm`` app); its activation (``lm.activated``) refreshes the
cache (``serving_generated_refresh``) and the next generation loads the new version. Other backends register a
factory with ``serving_backend_register``.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings

from generation.llm.backends import Backend, Completion, Sampling
from generation.llm.parsing import parse_explanations
from generation.llm.prompts import DEFAULT_TEMPLATES, Behaviour, render
from serving.keys import ServingKey

logger = logging.getLogger(__name__)

# Prompts for a key that is one query or one product (the generation app's templates are for behaviour pairs).
SINGLE_TEMPLATES: dict[str, str] = {
    "query": (
        'A shopper searched for "{query}".\n'
        "{question} Answer with a short numbered list of {items} brief explanations, one per line, each a few words."
    ),
    "product": (
        'A shopper bought "{product}" ({category}).\n'
        "{question} Answer with a short numbered list of {items} brief explanations, one per line, each a few words."
    ),
}


def conf(name: str) -> Any:
    return settings.PLAUSI_SERVING[name]


class ScriptedBackend:
    """A deterministic backend: every prompt is answered with the same numbered list of ``answers`` (rotated by a
    digest of the prompt, so different keys read differently). For tests and the demo, where no model runs."""

    def __init__(self, *, answers: Sequence[str], model_name: str = "scripted") -> None:
        self.answers = list(answers)
        self.model_name = model_name
        self.prompts: list[str] = []

    def generate(self, prompts: Sequence[str], sampling: Sampling) -> list[Completion]:
        out = []
        for prompt in prompts:
            self.prompts.append(prompt)
            shift = hashlib.sha256(prompt.encode()).digest()[0] % max(1, len(self.answers))
            items = self.answers[shift:] + self.answers[:shift]
            out.append(Completion("\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))))
        return out


def _openai() -> Backend:
    from generation.llm.backends import OpenAICompatibleBackend

    generation = settings.PLAUSI_GENERATION
    return OpenAICompatibleBackend(
        base_url=generation["OPENAI_BASE_URL"],
        model=conf("MODEL") or generation["OPENAI_MODEL"],
        api_key=generation["OPENAI_API_KEY"],
        max_concurrency=generation["MAX_CONCURRENCY"],
        timeout=generation["TIMEOUT_SECONDS"],
        max_retries=generation["MAX_RETRIES"],
    )


def _local() -> Backend:
    from generation.llm.backends import LocalCausalLMBackend

    generation = settings.PLAUSI_GENERATION
    return LocalCausalLMBackend(
        model_path=conf("MODEL") or generation["LOCAL_MODEL_PATH"], gguf_file=generation["LOCAL_GGUF_FILE"] or None
    )


def _scripted() -> Backend:
    return ScriptedBackend(answers=conf("SCRIPTED_ANSWERS"), model_name=conf("MODEL") or "scripted")


def _cosmo_lm() -> Backend:
    """The active COSMO-LM version (docs/cosmo_lm.md), run on this worker. No active version: a clear error, the
    claim is released as a failed generation like any backend's failure."""
    from core.model_paths import model_root
    from generation.llm.backends import CosmoLMBackend
    from lm.selectors import lm_version_active

    version = lm_version_active()
    if version is None:
        raise ValueError("SERVING_BACKEND is cosmo_lm but no COSMO-LM version is active (activate one on /lm/).")
    return CosmoLMBackend(artifact=str(model_root() / version.artifact))


_BACKENDS: dict[str, Callable[[], Backend]] = {
    "openai": _openai,
    "local": _local,
    "scripted": _scripted,
    "cosmo_lm": _cosmo_lm,
}
_LOADED: dict[str, Backend] = {}


def serving_backend_register(name: str, factory: Callable[[], Backend]) -> None:
    """Make a backend available to ``PLAUSI_SERVING["BACKEND"]`` (e.g. COSMO-LM's, from its app's ``ready``)."""
    _BACKENDS[name] = factory
    _LOADED.pop(name, None)


def serving_backend() -> Backend:
    """The configured backend, built once per worker process (a local model loads once)."""
    name = conf("BACKEND")
    if name not in _BACKENDS:
        raise ValueError(f"Unknown serving backend {name!r}; backends: {', '.join(sorted(_BACKENDS))}.")
    identity = serving_generation_identity()  # a newly activated COSMO-LM version is loaded, not the old one
    if identity not in _LOADED:
        for stale in [key for key in _LOADED if key.split(":", 1)[0] == name]:
            del _LOADED[stale]
        _LOADED[identity] = _BACKENDS[name]()
    return _LOADED[identity]


def serving_generation_identity() -> str:
    """Which backend and model make the cache's knowledge now; an entry made by another is stale."""
    name = conf("BACKEND")
    model = conf("MODEL")
    if not model and name == "cosmo_lm":
        from lm.selectors import lm_version_active

        version = lm_version_active()
        model = f"version-{version.pk}" if version is not None else "none-active"
    elif not model:
        generation = settings.PLAUSI_GENERATION
        model = {"openai": generation["OPENAI_MODEL"], "local": generation["LOCAL_MODEL_PATH"]}.get(name, name)
    return f"{name}:{model}"[:300]


@dataclass
class GeneratedKnowledgeResult:
    model: str
    judged_by: dict[str, int] | None
    items: list[tuple[str, str, float | None]] = field(default_factory=list)  # (relation, tail, score)
    behaviour: Behaviour | None = None


def _behaviour(key: ServingKey) -> Behaviour:
    """The key in words: catalogue titles where the products are known, else their ids."""
    from knowledge.selectors import products_described

    ids = [i for i in (key.product, key.other_product) if i]
    known = {
        external_id: (title or external_id, category)
        for external_id, (title, category) in products_described(external_ids=ids).items()
    }
    product, category = known.get(key.product, (key.product, ""))
    other = known.get(key.other_product, (key.other_product, ""))[0]
    kind = {"query_product": "search_buy", "product_product": "co_buy"}.get(key.type, key.type)
    return Behaviour(head_kind=kind, query=key.query, product=product, other_product=other, category=category)


def _template(kind: str, relation: str) -> str:
    if kind in SINGLE_TEMPLATES:
        return SINGLE_TEMPLATES[kind]
    from generation.models import PromptTemplate

    active = (
        PromptTemplate.objects.filter(relation__slug=relation, head_kind=kind, is_active=True)
        .values_list("text", flat=True)
        .first()
    )
    return active or DEFAULT_TEMPLATES[kind]


def _judge(behaviour: Behaviour, items: list[tuple[str, str]]) -> tuple[dict[str, int] | None, list[float | None]]:
    """Scores of the active classifiers (the lowest per tail), or None when no classifier is active."""
    from classifiers.ml.data import Batch, Example, describe_head
    from classifiers.selectors import active_versions
    from classifiers.services.common import loaded

    versions = active_versions()
    if not versions or not items:
        return None, [None] * len(items)
    head = describe_head(
        head_kind=behaviour.head_kind if behaviour.head_kind in ("search_buy", "co_buy") else "plain",
        head_text=behaviour.query or behaviour.product,
        query=behaviour.query,
        product=behaviour.product,
        other_product=behaviour.other_product,
        category=behaviour.category,
    )
    examples = [Example(head=head, relation=relation, tail=tail) for relation, tail in items]
    lowest = [1.0] * len(items)
    try:
        for version in versions.values():
            scores = loaded(version).predict_proba(Batch(examples))
            lowest = [min(a, float(b)) for a, b in zip(lowest, scores, strict=True)]
    except Exception as exc:  # an unloadable judge leaves the knowledge unjudged (null scores), never lost
        logger.warning("serving: the active classifiers could not judge (%s: %s)", type(exc).__name__, exc)
        return None, [None] * len(items)
    return {target: version.pk for target, version in sorted(versions.items())}, list(lowest)


def _cosmo_sentence(behaviour: Behaviour) -> str:
    """The key as COSMO-LM's instruction data words a behaviour (double quotes); a lone query or product in the
    same voice."""
    from knowledge.sentences import behaviour_sentence

    if behaviour.head_kind in ("search_buy", "co_buy"):
        return behaviour_sentence(
            head_kind=behaviour.head_kind,
            query=behaviour.query,
            product=behaviour.product,
            other_product=behaviour.other_product,
            head_text="",
            quotes=('"', '"'),
        )
    if behaviour.head_kind == "query":
        return f'A shopper searched for "{behaviour.query}".'
    return f'A shopper bought "{behaviour.product}".'


def serving_generate_for_key(*, key: ServingKey) -> GeneratedKnowledgeResult:
    """Ask the serving backend about a key for every configured relation and judge the answers (worker only)."""
    backend = serving_backend()
    behaviour = _behaviour(key)
    relations = list(conf("RELATIONS"))
    items_per_prompt = int(conf("ITEMS"))
    if conf("BACKEND") == "cosmo_lm":  # COSMO-LM reads its own instruction format, not the LLM templates
        from generation.llm.backends import cosmo_prompt

        sentence = _cosmo_sentence(behaviour)
        prompts = [cosmo_prompt(behaviour=sentence, relation=relation) for relation in relations]
    else:
        prompts = [
            render(_template(behaviour.head_kind, relation), behaviour, relation, items=items_per_prompt)
            for relation in relations
        ]
    completions = backend.generate(prompts, Sampling(temperature=0.0, max_tokens=160))
    items: list[tuple[str, str]] = []
    for relation, completion in zip(relations, completions, strict=True):
        if completion.text is None:
            continue
        parsed = parse_explanations(completion.text, max_items=items_per_prompt)
        items += [(relation, tail) for tail in dict.fromkeys(parsed.explanations)]
    if not any(c.text is not None for c in completions) and completions:
        raise RuntimeError(completions[0].error or "the backend answered nothing")
    judged_by, scores = _judge(behaviour, items)
    return GeneratedKnowledgeResult(
        model=serving_generation_identity(),
        judged_by=judged_by,
        items=[(relation, tail, score) for (relation, tail), score in zip(items, scores, strict=True)],
        behaviour=behaviour,
    )


def serving_pipeline_feed(*, key: ServingKey, result: GeneratedKnowledgeResult) -> Any:
    """Send generated tails into the normal pipeline as an ingest (source ``generation``): ingest -> filter ->
    queue then follow by the pipeline's hand-offs, so traffic feeds annotation. Pairs become behaviour-pair
    candidates (products the catalogue does not know are not invented: the key is skipped); a lone query or
    product becomes a plain-head candidate. Returns the ingest run, or None."""
    from knowledge.selectors import products_described
    from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute

    if not result.items:
        return None
    behaviour = result.behaviour or _behaviour(key)
    products = products_described(external_ids=[key.product, key.other_product])

    def product(external_id: str) -> dict[str, Any]:
        return {"id": external_id, "title": products[external_id][0]}

    base: dict[str, Any]
    if key.type == "query_product" and key.product in products:
        base = {"kind": "search_buy", "query": key.query, "product": product(key.product)}
    elif key.type == "product_product" and key.product in products and key.other_product in products:
        base = {"kind": "co_buy", "product": product(key.product), "other_product": product(key.other_product)}
    elif key.type in ("query", "product"):
        base = {"kind": "plain", "head": behaviour.query or behaviour.product}
    else:
        return None
    folder = Path(tempfile.mkdtemp(prefix="plausi-serving-"))
    path = folder / f"serving-{hashlib.sha256(key.key.encode()).hexdigest()[:16]}.jsonl"
    try:
        with path.open("wb") as out:
            for relation, tail, _score in result.items:
                record = {**base, "relation": relation, "tail": tail, "generator": result.model[:200]}
                out.write(orjson.dumps(record) + b"\n")
        run = ingest_run_create(
            files=[IngestFileSpec(path=path, name=path.name)], source="generation", skip_invalid=True
        )
        ingest_run_claim(run_id=run.pk)
        return ingest_run_execute(run_id=run.pk)
    finally:
        path.unlink(missing_ok=True)
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
