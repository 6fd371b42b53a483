"""Reads for annotation: what a step shows (the question in plain language with its context) and progress."""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from annotation.models import ConsolidatedLabel, Question
from annotation.services import CONTEXT_SELECT, Step, lease_release_token, question_wording, question_wordings
from annotation.services import _questions as active_questions
from annotation.services.questions import Wordings
from knowledge.selectors import relation_statement_template
from knowledge.sentences import behaviour_phrase, behaviour_sentence, categories_distinct, fill, statement_render


def _fill(template: str, **values: str) -> str:
    """``knowledge.sentences.fill``: one pass, LLM text inserted as it is, unknown placeholders kept."""
    return fill(template, values)


def _context(
    *,
    candidate_id: int,
    head_kind: str,
    head_text: str,
    tail: str,
    query: str,
    products: list[tuple[str, str, str | None]],
    relation: tuple[str, str, str],
) -> dict[str, Any]:
    """The context dict from plain values: ``products`` are (title, external id, category name or None) and
    ``relation`` is (slug, label, statement template for this kind of head). A category shared by both products
    of a co-buy is listed once."""
    titles = [title or external_id for title, external_id, _ in products]
    categories = categories_distinct([category for _, _, category in products if category is not None])
    sentence = behaviour_sentence(
        head_kind=head_kind,
        query=query,
        product=titles[0] if titles else None,
        other_product=titles[1] if len(titles) > 1 else None,
        head_text=head_text,
    )
    slug, label, template = relation
    return {
        "id": candidate_id,
        "head_kind": head_kind,
        "query": query,
        "titles": titles,
        "categories": categories,
        "head_text": head_text,
        "relation": {"slug": slug, "label": label},
        "tail": tail,
        "statement": statement_render(
            template=template,
            head_kind=head_kind,
            tail=tail,
            head_text=head_text,
            query=query,
            product=titles[0] if titles else None,
            other_product=titles[1] if len(titles) > 1 else None,
        ),
        "context": sentence,
    }


def candidate_context(candidate: Any) -> dict[str, Any]:
    """The behaviour behind a candidate, as plain data (the UI escapes it) and as one plain sentence."""
    pair = candidate.pair
    products = [] if pair is None else [p for p in (pair.product, pair.other_product) if p is not None]
    return _context(
        candidate_id=candidate.pk,
        head_kind=candidate.head_kind,
        head_text=candidate.head_text,
        tail=candidate.tail,
        query=pair.query.text if pair is not None and pair.query is not None else "",
        products=[(p.title, p.external_id, p.category.name if p.category is not None else None) for p in products],
        relation=(
            candidate.relation.slug,
            candidate.relation.label,
            relation_statement_template(candidate.relation, candidate.head_kind),
        ),
    )


def _load_context(candidate_id: int, row: tuple[Any, ...] | None = None) -> tuple[dict[str, Any], int]:
    """(context, relation id) from the candidate's ``CONTEXT_SELECT`` row: the one the claim read with the lease,
    else one statement."""
    if row is None:
        with connection.cursor() as cursor:
            cursor.execute(f"{CONTEXT_SELECT} WHERE c.id = %s", [candidate_id])
            row = cursor.fetchone()
    if row is None:
        raise LookupError(f"candidate {candidate_id} does not exist")
    head_kind, head_text, tail, relation_id, slug, label, template, pair_id, query = row[:9]
    products: list[tuple[str, str, str | None]] = []
    if pair_id is not None:
        products.append((row[9], row[10], row[11]))
        if row[12] is not None:
            products.append((row[13], row[14], row[15]))
    context = _context(
        candidate_id=candidate_id,
        head_kind=head_kind,
        head_text=head_text,
        tail=tail,
        query=query or "",
        products=products,
        relation=(slug, label, template),
    )
    return context, relation_id


_CONTEXT_CACHE_SIZE = 20_000
# Contexts are kept as JSON bytes: 20,000 nested dicts would be ~200,000 objects for the garbage collector to
# walk on every full collection (a pause for every thread of the worker); bytes are not tracked at all.
_context_cache: OrderedDict[int, tuple[bytes, int]] = OrderedDict()


def _cached_context(candidate_id: int, row: tuple[Any, ...] | None = None) -> tuple[dict[str, Any], int]:
    """(context, relation id) of a candidate, from a bounded per-process LRU: the text of a candidate never
    changes, and a prefetched candidate is rendered again when it becomes the current one. ``row``: the
    candidate's context columns, when the caller has them already."""
    found = _context_cache.get(candidate_id)
    if found is not None:
        _context_cache.move_to_end(candidate_id)
        return orjson.loads(found[0]), found[1]
    context, relation_id = _load_context(candidate_id, row)
    _context_cache[candidate_id] = (orjson.dumps(context), relation_id)
    if len(_context_cache) > _CONTEXT_CACHE_SIZE:
        _context_cache.popitem(last=False)
    return context, relation_id


def context_cache_clear() -> None:
    _context_cache.clear()


def _question_payload(
    question: Question, context: dict[str, Any], total: int, wordings: Wordings, relation_id: int
) -> dict[str, Any]:
    template, help_text = question_wording(
        wordings, question=question, relation_id=relation_id, head_kind=context["head_kind"]
    )
    return {
        "slug": question.slug,
        "label": question.label,
        "text": _fill(
            template,
            statement=context["statement"],
            tail=context["tail"],
            behaviour=behaviour_phrase(context["head_kind"]),
        ),
        "help": help_text,
        "number": question.order,
        "total": total,
    }


def step_data(step: Step | None) -> dict[str, Any] | None:
    """A step for the API: the question, the candidate's context, and the question that follows a Yes."""
    if step is None:
        return None
    context, relation_id = _cached_context(step.assignment.candidate_id, step.context_row)
    questions = active_questions()
    wordings = question_wordings()
    settled_yes = step.settled_yes
    if settled_yes is None:
        settled_yes = frozenset(
            ConsolidatedLabel.objects.filter(candidate_id=step.assignment.candidate_id, value=True).values_list(
                "question_id", flat=True
            )
        )
    after = [q for q in questions if q.order > step.question.order and q.pk not in settled_yes]
    return {
        "assignment": step.assignment.pk,
        "lease_expires_at": step.assignment.lease_expires_at,
        "question": _question_payload(step.question, context, len(questions), wordings, relation_id),
        "candidate": context,
        "then_if_yes": _question_payload(after[0], context, len(questions), wordings, relation_id) if after else None,
        "release_token": lease_release_token(
            assignment_id=step.assignment.pk, annotator_id=step.assignment.annotator_id
        ),
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
        _open_count_cache = (now, count)  # one thread recounts; the others keep the old figure meanwhile
        with connection.cursor() as cursor:
            # counted in the database (an index-only scan that stops at the cap), not by fetching ids: fetching
            # 10,000 rows into Python every few seconds showed in the latency tail of the request that paid it
            cursor.execute(
                "SELECT count(*) FROM (SELECT 1 FROM annotation_queueitem WHERE state = 'open' LIMIT %s) capped",
                [OPEN_COUNT_CAP],
            )
            count = int(cursor.fetchone()[0])
        _open_count_cache = (now, count)
    return count


def annotator_progress(*, annotator: Any, answered_today: int | None = None) -> dict[str, int]:
    """Answers given today (UTC; kept on the annotator's profile by the answer path, which passes the fresh
    figure) and candidates still open in the queue (capped, see ``open_in_queue``)."""
    if answered_today is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT answered_on, answered_that_day FROM annotation_annotatorprofile WHERE user_id = %s",
                [annotator.pk],
            )
            row = cursor.fetchone()
        answered_on = row[0] if row else None
        if isinstance(answered_on, str):  # SQLite
            answered_on = dt.date.fromisoformat(answered_on)
        answered_today = row[1] if row and answered_on == timezone.now().date() else 0
    return {"answered_today": answered_today, "open_in_queue": open_in_queue()}


def new_label_count(*, question_slug: str) -> int:
    """How many labels have been decided so far on a question and on the questions asked before it (which gate
    it): a cumulative counter that only grows (the classifiers' retraining trigger reads it)."""
    from django.db.models import Sum

    from annotation.models import NewLabelCount, Question

    order = Question.objects.filter(slug=question_slug).values_list("order", flat=True).first()
    if order is None:
        return 0
    total = NewLabelCount.objects.filter(question__order__lte=order).aggregate(total=Sum("count"))["total"]
    return int(total or 0)


def answers_per_day(*, since: dt.date) -> dict[dt.date, int]:
    """Answers per day (UTC) from ``since`` on; days without answers are absent. The ORM truncates the date, so it
    runs on every database: a hand-written ``CAST(created_at AS date)`` gives the year as a number on SQLite."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from annotation.models import Answer

    rows = (
        Answer.objects.filter(created_at__gte=dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
        .annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {day: int(count) for day, count in rows}


QUEUE_COUNTS_CACHE_SECONDS = 10


def queue_state_counts() -> dict[str, int]:
    """Queue items per state (``open``, ``closed``), uncapped, through a short cache: for the pipeline view, not
    the annotator's page (which shows the capped, per-process ``open_in_queue``)."""
    from django.db.models import Count

    from annotation.models import QueueItem
    from core.cache import cache_get, cache_set

    cached = cache_get("annotation:queue-state-counts")
    if cached is not None:
        return dict(cached)
    counts = {"open": 0, "closed": 0}
    for state, count in QueueItem.objects.values_list("state").annotate(n=Count("candidate_id")).order_by():
        counts[state] = count
    cache_set("annotation:queue-state-counts", counts, QUEUE_COUNTS_CACHE_SECONDS)
    return counts


QUEUE_DEPTH_EXACT_UP_TO = 10_000


def queue_depth() -> int:
    """Open queue items, for monitoring (``/metrics``): exact up to ``QUEUE_DEPTH_EXACT_UP_TO`` (an index-only scan
    of the open items' partial index that stops there), above it PostgreSQL's planner estimate (statistics of the
    last ANALYZE scaled to the table's current size: no scan at all), never less than the cap. So it costs the
    same on a pool of 1,000,000 as on one of 20,000 (benchmarks/metrics_scrape.py)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM annotation_queueitem WHERE state = 'open' LIMIT %s) capped",
            [QUEUE_DEPTH_EXACT_UP_TO],
        )
        count = int(cursor.fetchone()[0])
        if count < QUEUE_DEPTH_EXACT_UP_TO or connection.vendor != "postgresql":
            return count
        cursor.execute("EXPLAIN (FORMAT JSON) SELECT 1 FROM annotation_queueitem WHERE state = 'open'")
        plan = cursor.fetchone()[0]
    if isinstance(plan, str | bytes):
        plan = orjson.loads(plan)
    return max(count, int(plan[0]["Plan"]["Plan Rows"]))


def answers_written() -> int:
    """Answers written since the database was made, for monitoring (``/metrics``): the high mark of the answers'
    id sequence, read without touching the table (so it only grows, and costs nothing at any size). It counts
    each stored answer once, answers undone later included, plus the rare insert that was rolled back or met a
    concurrent retry of its own key (a sequence never goes back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence('annotation_answer', 'id')")
            sequence = cursor.fetchone()[0]
            if not sequence:
                return 0
            cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")  # noqa: S608
        else:  # SQLite: Django's primary keys are AUTOINCREMENT, whose high mark is kept in sqlite_sequence
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = 'annotation_answer'")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def agreement_report() -> dict[str, Any]:
    """Agreement per question and per annotator (``annotation.reports``), through its short cache."""
    from annotation.reports import agreement_report_cached

    return agreement_report_cached()


def label_list(*, filters: dict[str, Any]) -> Any:
    """Consolidated labels, newest change first, for the labels API (``GET /api/annotation/labels/``).

    ``filters``: ``question`` (slug), ``candidate`` (id), ``method``, ``value`` ("yes", "no" or "undecided"),
    ``updated_after`` (a datetime). Whole-pool reads go through the ``labels`` export instead (streamed)."""
    labels = ConsolidatedLabel.objects.select_related("question").order_by("-updated_at", "-id")
    if "question" in filters:
        labels = labels.filter(question__slug=filters["question"])
    if "candidate" in filters:
        labels = labels.filter(candidate_id=filters["candidate"])
    if "method" in filters:
        labels = labels.filter(method=filters["method"])
    if "value" in filters:
        labels = labels.filter(value={"yes": True, "no": False, "undecided": None}[filters["value"]])
    if "updated_after" in filters:
        labels = labels.filter(updated_at__gt=filters["updated_after"])
    return labels
