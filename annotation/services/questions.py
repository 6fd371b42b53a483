"""The active questions and their wordings per relation and kind of behaviour, cached per process for a few seconds.

They change only by admin edits, and the answer path would otherwise read them several times per request.
"""

from __future__ import annotations

import time

from annotation.models import Question, QuestionWording

_QUESTIONS_TTL_SECONDS = 10.0
_questions_cache: tuple[float, list[Question]] = (0.0, [])
_wordings_cache: tuple[float, dict[tuple[int | None, str], dict[int, tuple[str, str]]]] = (0.0, {})


def _questions() -> list[Question]:
    """The active questions in order (cached, see the module docstring)."""
    global _questions_cache
    loaded_at, questions = _questions_cache
    now = time.monotonic()
    if now - loaded_at > _QUESTIONS_TTL_SECONDS or not questions:
        questions = list(Question.objects.filter(is_active=True).order_by("order"))
        _questions_cache = (now, questions)
    return questions


# (relation id or None, behaviour kind or "") -> {question id: (template, help text)}
Wordings = dict[tuple[int | None, str], dict[int, tuple[str, str]]]


def question_wordings() -> Wordings:
    """The wordings by scope, ``{(relation_id or None, kind or ""): {question_id: (template, help)}}``, cached like
    ``_questions``; ``question_wording`` picks the one that applies."""
    global _wordings_cache
    loaded_at, wordings = _wordings_cache
    now = time.monotonic()
    if now - loaded_at > _QUESTIONS_TTL_SECONDS:
        wordings = {}
        for question_id, relation_id, kind, template, help_text in QuestionWording.objects.values_list(
            "question_id", "relation_id", "behaviour_kind", "template", "help_text"
        ):
            wordings.setdefault((relation_id, kind), {})[question_id] = (template, help_text)
        _wordings_cache = (now, wordings)
    return wordings


def question_wording(wordings: Wordings, *, question: Question, relation_id: int, head_kind: str) -> tuple[str, str]:
    """(template, help) of a question for a relation and a kind of head: the most specific wording (relation and
    kind, relation, kind), else the question's own. A wording's blank help keeps the question's."""
    for scope in ((relation_id, head_kind), (relation_id, ""), (None, head_kind)):
        found = wordings.get(scope, {}).get(question.pk)
        if found is not None:
            return found[0], found[1] or question.help_text
    return question.template, question.help_text


def questions_cache_clear() -> None:
    global _questions_cache, _wordings_cache
    _questions_cache = (0.0, [])
    _wordings_cache = (0.0, {})
