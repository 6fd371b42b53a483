"""Lifecycle changes of candidates, in bulk."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from knowledge import lifecycle
from knowledge.models import Candidate


@transaction.atomic
def candidate_status_transition(*, candidate_ids: Iterable[int], to_status: str) -> int:
    """Move candidates to ``to_status`` where the lifecycle allows it; returns how many moved.

    One conditional UPDATE: candidates whose current status may not precede ``to_status`` are left as they
    are (and not counted), so concurrent callers can never push a candidate through a forbidden transition.
    """
    if to_status not in lifecycle.ALLOWED_TRANSITIONS:
        raise ApplicationError(f"Unknown candidate status {to_status!r}.")
    ids = list(candidate_ids)
    if not ids:
        return 0
    return Candidate.objects.filter(pk__in=ids, status__in=lifecycle.predecessors(to_status)).update(
        status=to_status, updated_at=timezone.now()
    )
