"""The registry: which version of a target is active. Activation and the scoring it starts are one step (an
active version without scores would accept nothing), so it is not a switchable hand-off."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from classifiers.models import ModelVersion, ScoringRun
from core.events import event_emit


def model_version_activate(*, version_id: int, user: Any = None, force: bool = False) -> ScoringRun:
    """Make a version the active one of its target (with a new version token) and start scoring the pool."""
    from classifiers.services.scoring import scoring_run_start

    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        ModelVersion.objects.filter(target=version.target, is_active=True).exclude(pk=version.pk).update(
            is_active=False
        )
        token = (ModelVersion.objects.aggregate(top=Max("version_token"))["top"] or 0) + 1
        version.is_active = True
        version.version_token = token
        version.activated_at = timezone.now()
        version.activated_by = user if getattr(user, "is_authenticated", False) else None
        if force:
            version.promotion = {**version.promotion, "forced_by_admin": True}
        version.save(update_fields=["is_active", "version_token", "activated_at", "activated_by", "promotion"])
        run = scoring_run_start(version=version)
        event_emit(
            name="model.activated",
            payload={
                "model_version": version.pk,
                "target": version.target,
                "kind": version.kind,
                "version_token": token,
                "forced": bool(force),
                "scoring_run": run.pk,
            },
        )
        return run
