"""What the curation services share: settings, the audit log, and moving candidates through the lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from curation.models import CurationEvent, ReviewBatch
from knowledge.services import candidate_status_transition

AUDIT_QUESTIONS = ("complete", "relevant", "informative", "plausible", "typical")
# What a curator may accept or reject outside a batch (the lifecycle allows each of these to either decision).
CURATABLE = ("scored", "labelled", "accepted", "rejected", "pooled")


def _conf(name: str) -> Any:
    return settings.PLAUSI_CURATION[name]


def _log(
    action: str, actor: Any, *, batch: ReviewBatch | None = None, candidate_id: int | None = None, **details: Any
) -> None:
    CurationEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        batch=batch,
        candidate_id=candidate_id,
        details=details,
    )


def _move(candidate_ids: list[int], *, to: str, from_statuses: Sequence[str] = ("scored",)) -> int:
    """Move candidates through the knowledge app's lifecycle (scored ones only, unless told otherwise; those
    already there stay)."""
    sources = [status for status in from_statuses if status != to]
    return candidate_status_transition(candidates=candidate_ids, to_status=to, from_statuses=sources)
