"""The annotator's record: gold accuracy, the flag (and pause or exclusion) under it, and the daily count.

Answers to gold candidates (known answers from ingest) score the annotator. The answer path scores in its own
write statement (``_profile_write``); undo takes an answer back out with ``_score_gold``. Both apply the same rule
(``_gold_flagged``), so both flag at the same answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from annotation import sql
from annotation.models import AnnotatorProfile, Question
from annotation.services.common import _conf, _known_labels, _ts
from annotation.services.consolidation import Write
from knowledge.selectors import candidate_known_labels


def annotator_is_paused(annotator: Any) -> bool:
    return AnnotatorProfile.objects.filter(user=annotator, paused=True).exists()


def _gold_flagged(correct: int, total: int) -> bool:
    """The gold rule: judged after GOLD_MIN_ANSWERS gold answers, flagged under GOLD_MIN_ACCURACY."""
    return total >= _conf("GOLD_MIN_ANSWERS") and total > 0 and correct / total < _conf("GOLD_MIN_ACCURACY")


def _score_gold(annotator: Any, candidate_id: int, question: Question, value: bool, *, sign: int = 1) -> None:
    """Update the annotator's gold accuracy; flag (and pause/exclude, as configured) under the threshold.

    Undo calls it with ``sign=-1`` to take an answer back out of the record; the answer path scores in its own
    write statement (``_profile_write``), with the same rule (``_gold_flagged``).
    """
    known = _known_labels(candidate_known_labels(candidate_id=candidate_id))
    if question.slug not in known:
        return
    profile, _ = AnnotatorProfile.objects.select_for_update().get_or_create(user=annotator)
    profile.gold_total += sign
    profile.gold_correct += sign * int(bool(known[question.slug]) == value)
    if _gold_flagged(profile.gold_correct, profile.gold_total):
        profile.flagged = True
        profile.paused = profile.paused or bool(_conf("PAUSE_FLAGGED"))
        profile.excluded = profile.excluded or bool(_conf("EXCLUDE_FLAGGED"))
    profile.updated_at = timezone.now()
    profile.save()


def _profile_write(annotator_id: int, now: dt.datetime, *, gold_correct: bool | None) -> Write:
    """The answer's write of the annotator's profile (RETURNING today's answer count).

    ``gold_correct`` (an answer to a gold question with a known answer) also scores it: ``_score_gold``'s rule in
    the answer's own statement instead of a locked read and a save, which would cost two more round trips on every
    gold answer. The accuracy is compared as float8, the same IEEE division as Python's, so both paths flag at the
    same answer.
    """
    if gold_correct is None:
        return (sql.PROFILE_ANSWER, [annotator_id, now.date(), _ts(now)])
    correct = int(gold_correct)
    min_answers, min_accuracy = int(_conf("GOLD_MIN_ANSWERS")), float(_conf("GOLD_MIN_ACCURACY"))
    pause, exclude = bool(_conf("PAUSE_FLAGGED")), bool(_conf("EXCLUDE_FLAGGED"))
    first_flagged = _gold_flagged(correct, 1)
    under_params = [min_answers, correct, min_accuracy]
    inserted: list[Any] = [annotator_id, correct, first_flagged, first_flagged and pause, first_flagged and exclude]
    inserted += [now.date(), _ts(now)]
    updated = [correct, *under_params, pause, *under_params, exclude, *under_params]
    return (sql.PROFILE_GOLD_ANSWER, [*inserted, *updated])
