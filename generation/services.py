"""Generation writes: runs that prompt an LLM about behaviour pairs, parse the answers and ingest the explanations
through the same path as any file (dedup, support counts), then filter them.

A run is a set of tasks, one per (behaviour pair, relation), created up front; executing the run works on its
pending tasks ``PROMPTS_PER_STEP`` at a time and stores each answer and its parsed explanations on the task, so a
run interrupted anywhere (a killed worker, a restart) resumes where it stopped when executed again. Prompts that
fail after the backend's retries (transient errors only) are counted, never crash the run.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import Count

from core.errors import ApplicationError
from core.model_paths import model_root
from core.outbox import run_enqueue
from core.runs import RunHandle, RunStatus, run_claim, run_execute
from generation.llm.backends import (
    Backend,
    CosmoLMBackend,
    LocalCausalLMBackend,
    OpenAICompatibleBackend,
    Sampling,
    cosmo_prompt,
)
from generation.llm.parsing import parse_explanations
from generation.llm.prompts import Behaviour, render
from generation.models import GenerationRun, GenerationTask, PromptTemplate
from knowledge.selectors import behaviour_pair_ids, behaviour_pairs, ingest_run_get, relation_ids
from knowledge.sentences import behaviour_sentence


def _conf(name: str) -> Any:
    return settings.PLAUSI_GENERATION[name]


def prompt_template_save(*, relation_slug: str, head_kind: str, text: str, actor: Any = None) -> PromptTemplate:
    """A new active version of a prompt (the previous one stays, inactive, for provenance)."""
    if "{question}" not in text and "{relation}" not in text:
        raise ApplicationError("A prompt must ask something: use {question} (or {relation}).")
    relation_id = relation_ids(slugs=[relation_slug]).get(relation_slug)
    if relation_id is None:
        raise ApplicationError(f"Unknown relation {relation_slug!r}.")
    with transaction.atomic():
        latest = (
            PromptTemplate.objects.select_for_update()
            .filter(relation_id=relation_id, head_kind=head_kind)
            .order_by("-version")
            .first()
        )
        PromptTemplate.objects.filter(relation_id=relation_id, head_kind=head_kind, is_active=True).update(
            is_active=False
        )
        return PromptTemplate.objects.create(
            relation_id=relation_id,
            head_kind=head_kind,
            version=(latest.version + 1) if latest else 1,
            text=text,
            is_active=True,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )


def select_pairs(
    *,
    count: int,
    categories: list[str] | None = None,
    min_specificity: float | None = None,
    max_specificity: float | None = None,
    kinds: list[str] | None = None,
) -> list[int]:
    """Behaviour pairs to explain, the most observed first: optionally of some categories, of queries within a
    specificity range (COSMO favoured broad queries: a low maximum), of some kinds."""
    return behaviour_pair_ids(
        kinds=kinds,
        categories=categories,
        min_specificity=min_specificity,
        max_specificity=max_specificity,
        count=count,
    )


def _is_lm_artifact(value: str) -> bool:
    """A COSMO-LM artifact: a folder inside the model root (links and ``..`` resolved) holding its ``meta.json``."""
    if not value or "\x00" in value:
        return False
    try:
        root = model_root().resolve()
        folder = (root / value).resolve()
        return folder.is_relative_to(root) and (folder / "meta.json").is_file()
    except (OSError, ValueError):  # a name too long, a loop of links: not an artifact (a 400, never a 500)
        return False


def generation_run_create(
    *,
    backend: str,
    relations: list[str],
    pair_ids: list[int],
    selection: dict[str, Any] | None = None,
    model_name: str = "",
    sampling: dict[str, Any] | None = None,
    actor: Any = None,
    enqueue: bool = True,
) -> GenerationRun:
    if backend not in GenerationRun.Backend.values:
        raise ApplicationError(f"Unknown backend {backend!r}; backends: {', '.join(GenerationRun.Backend.values)}.")
    found = relation_ids(slugs=relations)
    unknown = sorted(set(relations) - set(found))
    if unknown or not relations:
        raise ApplicationError(f"Unknown or missing relations: {', '.join(unknown) or '(none given)'}.")
    if not pair_ids:
        raise ApplicationError("No behaviour pair matches the selection.")
    model_name = model_name or (
        _conf("OPENAI_MODEL") if backend == GenerationRun.Backend.OPENAI else _conf("LOCAL_MODEL_PATH")
    )
    if backend == GenerationRun.Backend.COSMO_LM and not _is_lm_artifact(model_name):
        raise ApplicationError(
            "The cosmo_lm backend needs a COSMO-LM version's artifact folder under the model root "
            "(lm.services.lm_generation_run_create names the active one)."
        )
    if not model_name:
        raise ApplicationError("Name a model (GENERATION_LOCAL_MODEL_PATH for the local backend).")
    params = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 160, "seed": None, "items": 5, **(sampling or {})}
    with transaction.atomic():
        run = GenerationRun.objects.create(
            backend=backend,
            model_name=model_name,
            sampling=params,
            selection=selection or {"pairs": len(pair_ids)},
            relations=relations,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            progress_total=len(pair_ids) * len(relations),
        )
        GenerationTask.objects.bulk_create(
            [GenerationTask(run=run, pair_id=pair, relation_id=found[slug]) for pair in pair_ids for slug in relations],
            batch_size=5000,
        )
        if enqueue:
            from generation.tasks import generation_run_execute_task

            task = generation_run_execute_task.s().set(queue=generation_queue(run))
            run_enqueue(task=task, run_id=run.pk)  # through the outbox
    return run


def generation_queue(run: GenerationRun) -> str:
    """A COSMO-LM run loads a model: the ``gpu`` queue; HTTP and local runs the default one (as before)."""
    if run.backend == GenerationRun.Backend.COSMO_LM:
        return str(settings.PLAUSI_CLASSIFIERS["QUEUE_PREFIX"]) + "gpu"
    return ""


def generation_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Claim a queued run, take over a running one (a redelivery after its worker died, or a stale heartbeat) or
    resume a failed one (the endpoint was down): only its pending prompts are asked, nothing twice."""
    GenerationRun.objects.filter(pk=run_id, status=GenerationRun.Status.FAILED).update(
        status=GenerationRun.Status.QUEUED
    )
    return run_claim(GenerationRun, run_id=run_id, claimer=claimer)


def make_backend(run: GenerationRun) -> Backend:
    if run.backend == GenerationRun.Backend.OPENAI:
        return OpenAICompatibleBackend(
            base_url=_conf("OPENAI_BASE_URL"),
            model=run.model_name,
            api_key=_conf("OPENAI_API_KEY"),
            max_concurrency=_conf("MAX_CONCURRENCY"),
            requests_per_second=_conf("REQUESTS_PER_SECOND") or None,
            timeout=_conf("TIMEOUT_SECONDS"),
            max_retries=_conf("MAX_RETRIES"),
        )
    if run.backend == GenerationRun.Backend.COSMO_LM:
        return CosmoLMBackend(artifact=str(model_root() / run.model_name))
    return LocalCausalLMBackend(model_path=run.model_name, gguf_file=_conf("LOCAL_GGUF_FILE") or None)


def _behaviours(pair_ids: list[int]) -> dict[int, Behaviour]:
    pairs = behaviour_pairs(pair_ids)
    return {
        pair.pk: Behaviour(
            head_kind=pair.kind,
            query=pair.query.text if pair.query else "",
            product=pair.product.title or pair.product.external_id,
            other_product=(pair.other_product.title or pair.other_product.external_id) if pair.other_product else "",
            category=pair.product.category.name if pair.product.category else "",
        )
        for pair in pairs
    }


def _sentence(behaviour: Behaviour) -> str:
    """The behaviour as COSMO-LM's instruction data words it (``curation.exports``: double quotes)."""
    return behaviour_sentence(
        head_kind=behaviour.head_kind,
        query=behaviour.query,
        product=behaviour.product,
        other_product=behaviour.other_product,
        head_text="",
        quotes=('"', '"'),
    )


def generation_run_execute(
    *, run_id: int, backend: Backend | None = None, progress: Callable[[int], None] | None = None
) -> GenerationRun:
    """Ask for the run's pending prompts (a step of ``PROMPTS_PER_STEP`` at a time, each step committed), then
    ingest and filter what came back. Resumable at every step: a re-execution asks only what is pending, reuses
    its ingest once it succeeded, and filtering again changes nothing."""
    return run_execute(
        GenerationRun,
        run_id=run_id,
        work=lambda handle: _generate(run_id, handle, backend, progress),
    )


def _generate(run_id: int, handle: RunHandle, backend: Backend | None, progress: Callable[[int], None] | None) -> None:
    run = GenerationRun.objects.get(pk=run_id)
    started = time.perf_counter()
    backend = backend or make_backend(run)
    sampling = Sampling(
        temperature=float(run.sampling["temperature"]),
        top_p=float(run.sampling["top_p"]),
        max_tokens=int(run.sampling["max_tokens"]),
        seed=run.sampling.get("seed"),
    )
    templates = {
        (t.relation_id, t.head_kind): t
        for t in PromptTemplate.objects.filter(is_active=True).select_related("relation")
    }
    handle.progress(phase="prompting")
    while True:
        tasks = list(
            GenerationTask.objects.filter(run=run, status=GenerationTask.Status.PENDING)
            .select_related("relation")
            .order_by("id")[: _conf("PROMPTS_PER_STEP")]
        )
        if not tasks:
            break
        behaviours = _behaviours([task.pair_id for task in tasks])
        prompts = []
        for task in tasks:
            template = templates.get((task.relation_id, behaviours[task.pair_id].head_kind))
            if template is None:
                raise ApplicationError(
                    f"No active prompt for {task.relation.slug} / {behaviours[task.pair_id].head_kind}."
                )
            task.template = template
            if run.backend == GenerationRun.Backend.COSMO_LM:  # asked in the format it was trained on
                prompts.append(cosmo_prompt(behaviour=_sentence(behaviours[task.pair_id]), relation=task.relation.slug))
                continue
            prompts.append(
                render(template.text, behaviours[task.pair_id], task.relation.slug, items=int(run.sampling["items"]))
            )
        completions = backend.generate(prompts, sampling)
        for task, completion in zip(tasks, completions, strict=True):
            task.attempts += completion.attempts
            if completion.text is None:
                task.status = GenerationTask.Status.FAILED
                task.error = (completion.error or "no answer")[:300]
            else:
                parsed = parse_explanations(completion.text, max_items=int(run.sampling["items"]))
                task.status = GenerationTask.Status.DONE
                task.output = completion.text[:20_000]
                task.explanations = parsed.explanations
                task.error = "; ".join(f"{reason}: {n}" for reason, n in parsed.dropped.items())[:300]
        with transaction.atomic():
            GenerationTask.objects.bulk_update(
                tasks, ["status", "attempts", "output", "explanations", "error", "template"]
            )
            done = GenerationTask.objects.filter(run=run).exclude(status=GenerationTask.Status.PENDING).count()
            handle.progress(done=done, force=True)
        if progress is not None:
            progress(done)
    counts = _counts(run)
    handle.update(phase="ingesting", counts=counts)
    ingest = _ingest(run, handle)
    moved = _filter()
    with transaction.atomic():
        handle.finish(
            phase="done",
            counts={
                **counts,
                "candidates_created": ingest.candidates_created if ingest else 0,
                "candidates_merged": ingest.candidates_merged if ingest else 0,
                **moved,
            },
            timings={"total_s": round(time.perf_counter() - started, 3)},
            message=f"{counts['explanations']} explanations from {counts['answers']} answers; "
            f"{counts['failed_prompts']} prompt(s) failed",
        )


def _counts(run: GenerationRun) -> dict[str, Any]:
    by_status = dict(
        GenerationTask.objects.filter(run=run).values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    explanations = 0
    empty = 0
    dropped: Counter[str] = Counter()
    for items, error in GenerationTask.objects.filter(run=run, status=GenerationTask.Status.DONE).values_list(
        "explanations", "error"
    ):
        explanations += len(items)
        empty += not items
        for part in filter(None, (error or "").split("; ")):
            reason, _, n = part.rpartition(": ")
            dropped[reason] += int(n) if n.isdigit() else 1
    return {
        "prompts": sum(by_status.values()),
        "answers": by_status.get("done", 0),
        "failed_prompts": by_status.get("failed", 0),
        "answers_without_explanations": empty,
        "explanations": explanations,
        "dropped": dict(dropped),
    }


def _ingest(run: GenerationRun, handle: RunHandle) -> Any:
    """Write the explanations as an ingest file and import it through the ingest service (dedup, support). The
    ingest run is linked to the generation run before it executes, so a resumed run reuses one that succeeded;
    one left unfinished by a dead worker (this task's own process) is failed and replaced."""
    from knowledge.services import (
        IngestFileSpec,
        ingest_run_claim,
        ingest_run_create,
        ingest_run_execute,
        ingest_run_supersede,
    )

    earlier = ingest_run_get(run_id=run.ingest_run_id) if run.ingest_run_id else None
    if earlier is not None:
        if earlier.status == RunStatus.SUCCEEDED:
            return earlier
        ingest_run_supersede(run_id=earlier.pk, reason="Superseded: its generation run was resumed.")
        handle.update(ingest_run=None)
    rows = (
        GenerationTask.objects.filter(run=run, status=GenerationTask.Status.DONE)
        .exclude(explanations=[])
        .select_related("pair__query", "pair__product__category", "pair__other_product", "relation", "template")
    )
    folder = Path(tempfile.mkdtemp(prefix="plausi-generation-"))
    path = folder / f"generation-{run.pk}.jsonl"
    written = 0
    with path.open("wb") as out:
        for task in rows.iterator(chunk_size=2000):
            pair = task.pair
            base: dict[str, Any] = {
                "kind": pair.kind,
                "product": _product(pair.product),
                "relation": task.relation.slug,
                "generator": run.model_name[:200],
                "prompt_id": task.template.prompt_id if task.template else "",
            }
            if pair.query is not None:
                base["query"] = pair.query.text
            if pair.other_product is not None:
                base["other_product"] = _product(pair.other_product)
            for tail in task.explanations:
                out.write(orjson.dumps({**base, "tail": tail}) + b"\n")
                written += 1
    try:
        if not written:
            return None
        with transaction.atomic():
            ingest = ingest_run_create(
                files=[IngestFileSpec(path=path, name=path.name)], source="generation", skip_invalid=True
            )
            handle.update(ingest_run=ingest)
        ingest_run_claim(run_id=ingest.pk)
        return ingest_run_execute(run_id=ingest.pk)
    finally:
        path.unlink(missing_ok=True)
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


def _product(product: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": product.external_id, "title": product.title}
    if product.category_id:
        out["category"] = product.category.name
    return out


def _filter() -> dict[str, int]:
    """Run the filters over what was ingested (the active configuration), as for any ingest."""
    from filtering.services import filter_run_claim, filter_run_create, filter_run_execute
    from knowledge.selectors import candidates_waiting_for_filters

    if not candidates_waiting_for_filters():
        return {"filtered": 0}
    run = filter_run_create()
    filter_run_claim(run_id=run.pk)
    run = filter_run_execute(run_id=run.pk)
    return {"pooled": run.moved_to_pooled, "filtered_out": run.moved_to_filtered_out}
