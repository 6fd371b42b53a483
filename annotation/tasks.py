"""Celery adapters for annotation."""

from __future__ import annotations

from celery import shared_task

from annotation.priorities import queue_priorities_recompute


@shared_task(name="annotation.queue_priorities_recompute", acks_late=True, ignore_result=True)
def queue_priorities_recompute_task() -> None:
    """Recompute every open queue item's priority (idempotent: a pure function of the current pool), with the
    active classifiers' uncertainty when there are any (active learning)."""
    from classifiers.services import classifier_uncertainty

    queue_priorities_recompute(uncertainty=classifier_uncertainty())
