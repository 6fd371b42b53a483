"""Reads that other apps export annotation's data through: every answer, every consolidated label, the labelled
candidates with one value per question, and the questions' definitions.

Selectors, like ``annotation.selectors``: annotation owns these tables, so the SQL that reads them in bulk lives
here and curation's export writers consume plain tuples. Rows stream from a server-side cursor in slices (memory
stays bounded whatever the table's size) in a stable order (by id), so two exports of the same data are equal.
Small lookups (question slugs, usernames) are read once and joined in Python rather than per row in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection

from annotation.models import Question
from knowledge.selectors import (
    CANDIDATE_BEHAVIOUR_JOINS,
    CANDIDATE_RELATION_JOIN,
    CANDIDATE_SENTENCE_JOIN,
    CANDIDATE_STATEMENT_TEMPLATE,
)

SLICE = 10_000

# One answer: id, candidate, question id, value, annotator id, seconds, created_at, assignment, assignment status,
# gold (the candidate's queue item is a gold question).
ANSWERS_SQL = (
    "SELECT a.id, a.candidate_id, a.question_id, a.value, a.annotator_id, a.seconds, a.created_at, "
    "a.assignment_id, s.status, COALESCE(g.is_gold, FALSE) "
    "FROM annotation_answer a JOIN annotation_assignment s ON s.id = a.assignment_id "
    "LEFT JOIN annotation_queueitem g ON g.candidate_id = a.candidate_id "
    "ORDER BY a.id"
)

# One consolidated label with its candidate's relation and tail: candidate, question id, value, method, yes, no,
# confidence, updated_at, gold, relation slug, tail.
LABELS_SQL = (
    "SELECT l.candidate_id, l.question_id, l.value, l.method, l.yes, l.no, l.confidence, l.updated_at, "
    "COALESCE(g.is_gold, FALSE), r.slug, c.tail "
    "FROM annotation_consolidatedlabel l JOIN knowledge_candidate c ON c.id = l.candidate_id "
    + CANDIDATE_RELATION_JOIN
    + "LEFT JOIN annotation_queueitem g ON g.candidate_id = l.candidate_id "
    "ORDER BY l.candidate_id, l.question_id"
)

# The decided labels with their candidates' behaviour, by candidate (then question order), for
# ``labelled_candidates_iter`` to group: id, pair, head kind, head text, tail, relation, query, product title,
# product id, other product title, other product id, statement template, question slug, value, method. Grouped in
# Python rather than aggregated in SQL, so it runs on SQLite (the demo) as on PostgreSQL.
LABELLED_CANDIDATES_SQL = (
    "SELECT c.id, c.pair_id, c.head_kind, c.head_text, c.tail, r.slug, sq.text, p1.title, p1.external_id, "
    "p2.title, p2.external_id, "
    + CANDIDATE_STATEMENT_TEMPLATE
    + ", q.slug, l.value, l.method FROM annotation_consolidatedlabel l "
    "JOIN annotation_question q ON q.id = l.question_id "
    "JOIN knowledge_candidate c ON c.id = l.candidate_id "
    + CANDIDATE_RELATION_JOIN
    + CANDIDATE_BEHAVIOUR_JOINS
    + CANDIDATE_SENTENCE_JOIN
    + 'WHERE l.value IS NOT NULL ORDER BY c.id, q."order"'
)


def _stream(sql: str, params: list[Any] | None = None) -> Iterator[tuple[Any, ...]]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params or [])
        while rows := cursor.fetchmany(SLICE):
            yield from rows


def question_slugs() -> dict[int, str]:
    """{question id: slug} for every question, active or not (old answers may name a retired one)."""
    return dict(Question.objects.values_list("pk", "slug"))


def question_definitions() -> list[dict[str, Any]]:
    """The questions as a dataset card defines its labels: slug, label, wording, help, order, active."""
    return [
        {
            "slug": slug,
            "label": label,
            "template": template,
            "help": help_text,
            "order": order,
            "active": active,
        }
        for slug, label, template, help_text, order, active in Question.objects.order_by("order").values_list(
            "slug", "label", "template", "help_text", "order", "is_active"
        )
    ]


def answers_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotation_answer")
        return int(cursor.fetchone()[0])


def answers_iter() -> Iterator[tuple[Any, ...]]:
    """Every answer in id order (``ANSWERS_SQL``'s columns)."""
    return _stream(ANSWERS_SQL)


def labels_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotation_consolidatedlabel")
        return int(cursor.fetchone()[0])


def labels_iter() -> Iterator[tuple[Any, ...]]:
    """Every consolidated label, undecided ones included, by candidate then question (``LABELS_SQL``'s columns)."""
    return _stream(LABELS_SQL)


def labelled_candidates_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT candidate_id) FROM annotation_consolidatedlabel WHERE value IS NOT NULL")
        return int(cursor.fetchone()[0])


def labelled_candidates_iter() -> Iterator[tuple[Any, ...]]:
    """Candidates with at least one decided label, in id order: the first twelve columns of
    ``LABELLED_CANDIDATES_SQL``, then {question slug: value} and the sorted methods that decided them."""
    current: list[Any] | None = None
    labels: dict[str, bool] = {}
    methods: set[str] = set()
    for row in _stream(LABELLED_CANDIDATES_SQL):
        if current is None or row[0] != current[0]:
            if current is not None:
                yield (*current, labels, sorted(methods))
            current, labels, methods = list(row[:12]), {}, set()
        labels[row[12]] = bool(row[13])
        methods.add(row[14])
    if current is not None:
        yield (*current, labels, sorted(methods))
