"""COSMO-LM's registry: activation and its event (the hook for everything that follows the live model)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from core.events import event_emit
from lm.models import LMVersion


def lm_version_activate(*, version_id: int, user: Any = None) -> LMVersion:
    """Make a version the active COSMO-LM (the previous one is deactivated in the same transaction) and emit
    ``lm.activated``: the hook for everything that must follow the active model (the serving cache's refresh,
    subscribed through the pipeline's events)."""
    with transaction.atomic():
        version = LMVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise ApplicationError(f"There is no COSMO-LM version {version_id}.")
        previous = LMVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version_id).first()
        if previous is not None:
            LMVersion.objects.filter(pk=previous.pk).update(is_active=False)
        if not version.is_active:
            version.is_active = True
            version.activated_at = timezone.now()
            version.activated_by = user if getattr(user, "is_authenticated", False) else None
            version.save(update_fields=["is_active", "activated_at", "activated_by"])
            lm_activated_emit(version=version, previous=previous.pk if previous else None)
    return version


def lm_activated_emit(*, version: LMVersion, previous: int | None) -> int:
    """The ``lm.activated`` event, in the caller's transaction (see the module docstring)."""
    return event_emit(
        name="lm.activated",
        payload={"lm_version": version.pk, "artifact": version.artifact, "previous": previous},
    )
