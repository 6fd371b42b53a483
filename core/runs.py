"""One run model and one runner for every long job (ingest, filter, training, scoring, export, generation).

A run record is the source of truth that the API, the pages and the pipeline read; Celery results are never
used. Every kind of run subclasses ``Run`` (status, phase, progress, message, error, timings, claim and
heartbeat) and is executed by ``run_execute``, which owns the life cycle:

* **claim** (``run_claim``): one conditional UPDATE takes a run that is ``queued``; a ``running`` one is taken
  over by the same claimer once the claimant missed three heartbeats (the broker delivered the same task again
  because its worker died: Celery's ``acks_late`` + ``reject_on_worker_lost``), or by anyone once its heartbeat
  is older than ``RUN_STALE_SECONDS`` (its worker is gone for good). A duplicate delivery of a live run, even of
  the same task (one that outlived the broker's visibility timeout), finds it claimed and does nothing.
* **heartbeat**: while the work runs, a thread beats ``heartbeat_at`` every ``RUN_HEARTBEAT_SECONDS``, so a long
  step without progress (a merge, a fit) still shows a live claimant. A beat never waits for a row lock.
* **progress** (``RunHandle.progress``): throttled writes of done/total/phase that the pages poll.
* **finish / fail**: conditional on still holding the claim, so a claimant that was taken over can never finish
  (or fail) the run a second time; the work's own final writes go in the same transaction as the finish
  (``RunHandle.finish`` inside ``transaction.atomic``) where they must happen exactly once.
* **sweep** (``runs_sweep``, on Celery beat): a ``running`` run whose heartbeat went stale is put back to
  ``queued`` and published again (after ``RUN_MAX_ATTEMPTS`` claims it fails instead, saying why); a ``queued``
  run whose message was lost (a broker that forgot its queues) is published again. So no run stays ``running``
  without a live claimant, and no single-flight constraint (one training per target) can block forever.

A new kind of run is a model that subclasses ``Run`` plus a ``register_run_kind`` call naming its Celery task.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, connections, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from core.gc_relaxed import collections_relaxed

logger = logging.getLogger(__name__)


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


IN_FLIGHT = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunProgress:
    """``progress_fraction`` for models with status, progress_done and progress_total (kept importable for old
    migrations, which name it as a base)."""

    status: str
    progress_done: int
    progress_total: int

    @property
    def progress_fraction(self) -> float:
        if self.status == RunStatus.SUCCEEDED:
            return 1.0
        if not self.progress_total:
            return 0.0
        return min(1.0, self.progress_done / self.progress_total)


class Run(RunProgress, models.Model):
    """What every run record has. Subclasses add their parameters and results; services never write these
    fields except through this module."""

    Status = RunStatus

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    phase = models.CharField(max_length=64, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    message = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="Why it failed: the exception and where (for operators).")
    timings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(
        max_length=64, blank=True, help_text="The task that runs it (a redelivery of the same task may take it over)."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The claimant's last sign of life (or the sweep's last publication)."
    )
    attempts = models.PositiveIntegerField(default=0, help_text="How many times it was claimed.")

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


R = TypeVar("R", bound=Run)


def _conf(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def stale_seconds() -> float:
    """After this long without a heartbeat, anyone may take a running run over (the sweep does)."""
    return _conf("RUN_STALE_SECONDS", 300.0)


def missed_beats_seconds() -> float:
    """After this long without a heartbeat (three beats missed), a redelivery of the claiming task may take its
    run over. While the claimant still beats, a redelivery is refused: a task that outlived the broker's
    visibility timeout is delivered again while it still runs, and must not run twice at once."""
    return 3 * _conf("RUN_HEARTBEAT_SECONDS", 10.0)


# --- the registry of run kinds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunKind:
    """A kind of run: its model, the Celery task that executes one (by name), and how to pick its queue."""

    name: str
    model: type[Run]
    task_name: str
    queue: Callable[[Run], str] | None = None
    sweep: bool = True  # False: the kind is swept by its own rule (scoring: per chunk)
    viewers: tuple[str, ...] = ("admin",)  # the roles that may read its runs (as its own API allows)


_KINDS: dict[str, RunKind] = {}


def register_run_kind(kind: RunKind) -> None:
    """Called by each app's ``AppConfig.ready``; the ground floor never imports an app."""
    _KINDS[kind.name] = kind


def run_kinds() -> dict[str, RunKind]:
    return dict(_KINDS)


def run_kind_of(model: type[Run]) -> RunKind | None:
    return next((kind for kind in _KINDS.values() if kind.model is model), None)


# --- claim, heartbeat, progress, finish, fail -----------------------------------------------------------------


def local_claimer() -> str:
    """A claimer for work run in this process (a management command, a test): unique, so it takes only a queued
    run (or a stale one), never another process's."""
    return f"local:{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_claim(model: type[Run], *, run_id: int, claimer: str = "", **fields: Any) -> bool:
    """Take a run for execution (see the module docstring); ``fields`` are set with the claim (a phase, a reset
    of what an earlier attempt recorded). ``claimer`` is the Celery task id, so that a redelivery of the same task
    takes its run over; "" (a synchronous caller such as a management command) gets a ``local_claimer``, which
    takes only a queued or stale run. The executor reads the claimer back from the run."""
    claimer = claimer or local_claimer()
    now = timezone.now()
    takeable = (
        Q(status=RunStatus.QUEUED)
        | Q(status=RunStatus.RUNNING, heartbeat_at__lt=now - dt.timedelta(seconds=stale_seconds()))
        | (
            Q(status=RunStatus.RUNNING, claimed_by=claimer[:64])
            & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - dt.timedelta(seconds=missed_beats_seconds())))
        )
    )
    return bool(
        model._default_manager.filter(takeable, pk=run_id).update(
            status=RunStatus.RUNNING,
            claimed_by=claimer[:64],
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error="",
            attempts=F("attempts") + 1,
            **fields,
        )
    )


def _claimed(model: type[models.Model], run_id: int, claimer: str) -> models.QuerySet[Any]:
    return model._default_manager.filter(pk=run_id, status=RunStatus.RUNNING, claimed_by=claimer[:64])


def run_beat(model: type[models.Model], *, run_id: int, claimer: str) -> bool:
    """Renew the claim's heartbeat; False when the claim was lost (taken over, or the run ended). On
    PostgreSQL it never waits: a row locked by the work's own transaction skips this beat."""
    table = model._meta.db_table
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET heartbeat_at = %s WHERE id = (SELECT id FROM {table} WHERE id = %s "
                "AND status = 'running' AND claimed_by = %s FOR UPDATE SKIP LOCKED)",
                [now, run_id, claimer[:64]],
            )
            if cursor.rowcount:
                return True
        return _claimed(model, run_id, claimer).exists()  # locked by its own work (still ours) or lost
    return bool(_claimed(model, run_id, claimer).update(heartbeat_at=now))


class _Heartbeat(threading.Thread):
    """Beats a claim every ``interval`` seconds on its own database connection until stopped."""

    def __init__(self, model: type[models.Model], run_id: int, claimer: str, interval: float) -> None:
        super().__init__(name=f"heartbeat-{model._meta.label_lower}-{run_id}", daemon=True)
        self.model, self.run_id, self.claimer, self.interval = model, run_id, claimer, interval
        self.stopping = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.interval):
                try:
                    if not run_beat(self.model, run_id=self.run_id, claimer=self.claimer):
                        self.lost = True
                        return
                except Exception as exc:  # a busy SQLite file, a database restart: try again at the next beat
                    logger.warning("heartbeat of %s %s failed: %s", self.model.__name__, self.run_id, exc)
        finally:
            connections.close_all()  # this thread's connections only (they are thread-local)


@contextmanager
def run_heartbeat(model: type[models.Model], *, run_id: int, claimer: str) -> Iterator[_Heartbeat | None]:
    """Beat the claim in the background for the duration of the block (any model with ``status``,
    ``claimed_by`` and ``heartbeat_at``: runs, and scoring chunks). Not on SQLite (the embedded demo): a second
    connection writing while the work holds the file's write lock would only wait for it; there the progress
    reports are the heartbeat."""
    if connection.vendor == "sqlite":
        yield None
        return
    beat = _Heartbeat(model, run_id, claimer, _conf("RUN_HEARTBEAT_SECONDS", 10.0))
    beat.start()
    try:
        yield beat
    finally:
        beat.stopping.set()
        beat.join(timeout=30)


class RunLost(Exception):
    """The claim was taken over while this claimant worked (its heartbeat had gone stale): stop, write nothing."""


class RunHandle:
    """What the work sees of its run: progress reports, and the conditional finish."""

    PROGRESS_EVERY_SECONDS = 0.5

    def __init__(self, model: type[Run], run_id: int, claimer: str) -> None:
        self.model, self.run_id, self.claimer = model, run_id, claimer
        self._last_report = 0.0
        self.callback: Callable[[int, int], None] | None = None

    def progress(
        self, *, done: int | None = None, total: int | None = None, phase: str | None = None, force: bool = False
    ) -> None:
        """Record progress (at most every half second unless ``force``); a phase change is always written."""
        now = time.monotonic()
        if not force and phase is None and now - self._last_report < self.PROGRESS_EVERY_SECONDS:
            return
        self._last_report = now
        values: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        if phase is not None:
            values["phase"] = phase
        self.update(**values)
        if self.callback is not None and done is not None:
            self.callback(done, total if total is not None else 0)

    def update(self, **values: Any) -> None:
        """Write fields of the run while the claim is held (a lost claim raises ``RunLost``)."""
        if not _claimed(self.model, self.run_id, self.claimer).update(**values):
            raise RunLost(f"{self.model.__name__} {self.run_id} is no longer claimed by {self.claimer or 'this'}")

    def finish(self, *, message: str = "", status: str = RunStatus.SUCCEEDED, **values: Any) -> None:
        """End the run (succeeded, or failed for a reason the work decided, such as a file with bad lines). Call
        it inside the transaction of the work's last writes, so that they and the end commit together (or not at
        all, when the claim was lost: ``RunLost`` rolls them back)."""
        now = timezone.now()
        with transaction.atomic():
            self.update(status=status, message=message, finished_at=now, heartbeat_at=now, **values)
            if status == RunStatus.FAILED:
                run_failed_emit(self.model, run_id=self.run_id, message=message)


def run_failed_emit(model: type[Run], *, run_id: int, message: str) -> None:
    """The ``run.failed`` pipeline event (webhooks, subscribers), in the transaction that failed the run."""
    from core.events import event_emit

    kind = run_kind_of(model)
    event_emit(
        name="run.failed",
        payload={"kind": kind.name if kind else model._meta.model_name, "run": run_id, "message": message[:500]},
    )


def run_fail(model: type[Run], *, run_id: int, claimer: str, message: str, error: str = "", **values: Any) -> bool:
    """Mark a run failed, if this claimant still holds it (and emit ``run.failed`` with it)."""
    with transaction.atomic():
        failed = _claimed(model, run_id, claimer).update(
            status=RunStatus.FAILED, message=message[:4000], error=error[:8000], finished_at=timezone.now(), **values
        )
        if failed:
            run_failed_emit(model, run_id=run_id, message=message)
    return bool(failed)


def describe_failure(exc: BaseException) -> str:
    """The exception and the innermost frames, for the run's ``error`` field."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6)
    return "".join(frames)[-8000:]


Work = Callable[[RunHandle], Any]


def run_execute(
    model: type[R],
    *,
    run_id: int,
    work: Work,
    claimer: str | None = None,
    failure_message: Callable[[BaseException], str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> R:
    """Execute a claimed run: heartbeat while ``work(handle)`` runs; a failure is recorded on the run (message
    for people, error for operators) and re-raised. ``work`` must call ``handle.finish`` (usually inside the
    transaction of its last writes). ``claimer`` defaults to the one recorded by the claim. Returns the run as it
    is afterwards."""
    if claimer is None:
        claimer = model._default_manager.filter(pk=run_id).values_list("claimed_by", flat=True).first() or ""
    handle = RunHandle(model, run_id, claimer)
    handle.callback = progress
    with run_heartbeat(model, run_id=run_id, claimer=claimer), collections_relaxed():
        try:
            work(handle)
        except RunLost:
            logger.warning("%s %s was taken over; this claimant stops", model.__name__, run_id)
        except Exception as exc:
            logger.exception("%s %s failed", model.__name__, run_id)
            message = failure_message(exc) if failure_message else f"{type(exc).__name__}: {exc}"
            run_fail(model, run_id=run_id, claimer=claimer, message=message, error=describe_failure(exc))
            raise
    return model._default_manager.get(pk=run_id)


# --- the sweep ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    requeued: int = 0
    republished: int = 0
    failed: int = 0


def runs_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """Put runs without a live claimant back to work (see the module docstring); returns what it did."""
    from core.outbox import outbox_enqueue

    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=stale_seconds())
    max_attempts = int(_conf("RUN_MAX_ATTEMPTS", 5))
    requeued = republished = failed = 0
    for kind in _KINDS.values():
        if not kind.sweep:
            continue
        model = kind.model
        with transaction.atomic():
            dead = list(
                model._default_manager.select_for_update(skip_locked=True)
                .filter(status=RunStatus.RUNNING)
                .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale))
            )
            for run in dead:
                if run.attempts >= max_attempts:
                    message = f"Its worker stopped {run.attempts} time(s) without finishing; given up."
                    gave_up = model._default_manager.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                        status=RunStatus.FAILED,
                        finished_at=now,
                        message=message,
                        error="The claim's heartbeat went stale after the last attempt (see RUN_MAX_ATTEMPTS).",
                    )
                    if gave_up:
                        run_failed_emit(model, run_id=run.pk, message=message)
                    failed += gave_up
                    continue
                requeued += model._default_manager.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.QUEUED, claimed_by="", heartbeat_at=now
                )
                outbox_enqueue(task_name=kind.task_name, args=[run.pk], queue=kind.queue(run) if kind.queue else "")
            lost = list(
                model._default_manager.select_for_update(skip_locked=True)
                .filter(status=RunStatus.QUEUED, created_at__lt=stale)
                .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
            )
            for run in lost:
                republished += model._default_manager.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                    heartbeat_at=now
                )
                outbox_enqueue(task_name=kind.task_name, args=[run.pk], queue=kind.queue(run) if kind.queue else "")
    return SweepReport(requeued=requeued, republished=republished, failed=failed)
