"""The active questions and their per-relation wordings, cached per process for a few seconds.

They change only by admin edits, and the answer path would otherwise read them several times per request.
"""

from __future__ import annotations

import time

from annotation.models import Question, QuestionWording

_QUESTIONS_TTL_SECONDS = 10.0
_questions_cache: tuple[float, list[Question]] = (0.0, [])
_wordings_cache: tuple[float, dict[int, dict[int, str]]] = (0.0, {})


def _questions() -> list[Question]:
    """The active questions in order (cached, see the module docstring)."""
    global _questions_cache
    loaded_at, questions = _questions_cache
    now = time.monotonic()
    if now - loaded_at > _QUESTIONS_TTL_SECONDS or not questions:
        questions = list(Question.objects.filter(is_active=True).order_by("order"))
        _questions_cache = (now, questions)
    return questions


def question_wordings() -> dict[int, dict[int, str]]:
    """Per-relation wordings, ``{relation_id: {question_id: template}}``, cached like ``_questions``."""
    global _wordings_cache
    loaded_at, wordings = _wordings_cache
    now = time.monotonic()
    if now - loaded_at > _QUESTIONS_TTL_SECONDS:
        wordings = {}
        for question_id, relation_id, template in QuestionWording.objects.values_list(
            "question_id", "relation_id", "template"
        ):
            wordings.setdefault(relation_id, {})[question_id] = template
        _wordings_cache = (now, wordings)
    return wordings


def questions_cache_clear() -> None:
    global _questions_cache, _wordings_cache
    _questions_cache = (0.0, [])
    _wordings_cache = (0.0, {})
