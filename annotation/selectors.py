"""Reads for annotation: what a step shows (the question in plain language with its context) and progress."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from django.utils import timezone

from annotation.models import Answer, ConsolidatedLabel, Question, QuestionWording, QueueItem
from annotation.services import Step
from annotation.services import _questions as active_questions
from knowledge.models import Candidate


def _fill(template: str, **values: str) -> str:
    """Substitute {name} placeholders without str.format: LLM text may itself contain braces."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _head_name(candidate: Candidate) -> str:
    pair = candidate.pair
    if pair is None:
        return candidate.head_text
    return pair.product.title or pair.product.external_id


def candidate_context(candidate: Candidate) -> dict[str, Any]:
    """The behaviour behind a candidate, as plain data (the UI escapes it) and as one plain sentence."""
    pair = candidate.pair
    query = pair.query.text if pair is not None and pair.query is not None else ""
    products = [] if pair is None else [p for p in (pair.product, pair.other_product) if p is not None]
    titles = [product.title or product.external_id for product in products]
    categories = [product.category.name for product in products if product.category is not None]
    if candidate.head_kind == Candidate.HeadKind.SEARCH_BUY:
        sentence = f"A shopper searched for “{query}” and bought “{titles[0]}”."
    elif candidate.head_kind == Candidate.HeadKind.CO_BUY:
        sentence = f"A shopper bought “{titles[0]}” and “{titles[1]}” together."
    else:
        sentence = f"About “{candidate.head_text}”."
    statement = _fill(candidate.relation.sentence_template, head=_head_name(candidate), tail=candidate.tail)
    return {
        "id": candidate.pk,
        "head_kind": candidate.head_kind,
        "query": query,
        "titles": titles,
        "categories": categories,
        "head_text": candidate.head_text,
        "relation": {"slug": candidate.relation.slug, "label": candidate.relation.label},
        "tail": candidate.tail,
        "statement": statement,
        "context": sentence,
    }


_CONTEXT_CACHE_SIZE = 20_000
_context_cache: OrderedDict[int, tuple[dict[str, Any], int]] = OrderedDict()


def _cached_context(candidate_id: int) -> tuple[dict[str, Any], int]:
    """(context, relation id) of a candidate, from a bounded per-process LRU: the text of a candidate never
    changes, and a prefetched candidate is rendered again when it becomes the current one."""
    found = _context_cache.get(candidate_id)
    if found is not None:
        _context_cache.move_to_end(candidate_id)
        return found
    candidate = (
        Candidate.objects.select_related(
            "relation", "pair__query", "pair__product__category", "pair__other_product__category"
        )
        .filter(pk=candidate_id)
        .get()
    )
    found = (candidate_context(candidate), candidate.relation_id)
    _context_cache[candidate_id] = found
    if len(_context_cache) > _CONTEXT_CACHE_SIZE:
        _context_cache.popitem(last=False)
    return found


def context_cache_clear() -> None:
    _context_cache.clear()


def _question_payload(
    question: Question, context: dict[str, Any], total: int, wordings: dict[int, str]
) -> dict[str, Any]:
    template = wordings.get(question.pk, question.template)
    return {
        "slug": question.slug,
        "label": question.label,
        "text": _fill(template, statement=context["statement"], tail=context["tail"]),
        "help": question.help_text,
        "number": question.order,
        "total": total,
    }


def step_data(step: Step | None) -> dict[str, Any] | None:
    """A step for the API: the question, the candidate's context, and the question that follows a Yes."""
    if step is None:
        return None
    context, relation_id = _cached_context(step.assignment.candidate_id)
    questions = active_questions()
    wordings = dict(QuestionWording.objects.filter(relation_id=relation_id).values_list("question_id", "template"))
    settled_yes = set(
        ConsolidatedLabel.objects.filter(candidate_id=step.assignment.candidate_id, value=True).values_list(
            "question_id", flat=True
        )
    )
    after = [q for q in questions if q.order > step.question.order and q.pk not in settled_yes]
    return {
        "assignment": step.assignment.pk,
        "lease_expires_at": step.assignment.lease_expires_at,
        "question": _question_payload(step.question, context, len(questions), wordings),
        "candidate": context,
        "then_if_yes": _question_payload(after[0], context, len(questions), wordings) if after else None,
    }


_OPEN_COUNT_TTL_SECONDS = 5.0
OPEN_COUNT_CAP = 10_000
_open_count_cache: tuple[float, int] = (0.0, 0)


def open_in_queue() -> int:
    """Open queue items up to ``OPEN_COUNT_CAP`` (the page shows "10000+"), counted at most every few seconds
    per process: on a pool of millions an exact count costs more than an answer, and it is only progress."""
    global _open_count_cache
    counted_at, count = _open_count_cache
    now = time.monotonic()
    if now - counted_at > _OPEN_COUNT_TTL_SECONDS:
        count = len(QueueItem.objects.filter(state=QueueItem.State.OPEN).values_list("pk", flat=True)[:OPEN_COUNT_CAP])
        _open_count_cache = (now, count)
    return count


def annotator_progress(*, annotator: Any) -> dict[str, int]:
    """Answers given today (UTC) and candidates still open in the queue (capped, see ``open_in_queue``)."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "answered_today": Answer.objects.filter(annotator=annotator, created_at__gte=today).count(),
        "open_in_queue": open_in_queue(),
    }
