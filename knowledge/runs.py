"""What every run record shares: enqueueing its Celery task without ever running the work in the web process."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from knowledge.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


def run_enqueue(*, task: Any, run_model: Any, run_id: int, what: str) -> None:
    """Send ``task(run_id)`` to the broker; when the broker is unreachable, fail the queued run and say so.

    Called from ``transaction.on_commit``, so the worker finds the run committed. ``what`` names the run in
    the messages ("ingest", "filter run").
    """
    try:
        task.delay(run_id)
    except Exception as exc:  # the broker is unreachable: say so, never run the work in the web process
        logger.exception("could not enqueue %s %s", what, run_id)
        run_model.objects.filter(pk=run_id, status="queued").update(
            status="failed",
            message=f"The task queue is unreachable ({type(exc).__name__}); the {what} did not start. Try again.",
            finished_at=timezone.now(),
        )
        raise ServiceUnavailable(
            f"The task queue is unreachable; the {what} was not started. Try again later.", extra={"run_id": run_id}
        ) from exc


class RunProgress:
    """``progress_fraction`` for run models with status, progress_done and progress_total fields."""

    status: str
    progress_done: int
    progress_total: int

    @property
    def progress_fraction(self) -> float:
        if self.status == "succeeded":
            return 1.0
        if not self.progress_total:
            return 0.0
        return min(1.0, self.progress_done / self.progress_total)
