"""Pool scoring: one scoring run per activation, split into id-range chunks, one idempotent task per chunk.

A chunk is claimed by a conditional UPDATE (pending; or running and either claimed by the same task, which the
broker delivered again because its worker died, or with a stale heartbeat). Its scores (upserts keyed by the
version token: a late chunk of an older activation never overwrites a newer score) and its completion commit
together; the run closes once, when its last chunk is done, and then moves candidates between ``pooled`` and
``scored`` and emits ``scoring.succeeded`` for the pipeline (annotation priorities, optional review batches).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from classifiers import selectors
from classifiers.ml.data import Batch, Example
from classifiers.ml.features import HashedFeatures
from classifiers.ml.models import TfidfLogistic
from classifiers.models import ModelVersion, RunStatus, ScoringChunk, ScoringRun
from classifiers.services.common import conf, feature_store, loaded, queue_for
from core.errors import Conflict
from core.events import event_emit
from core.outbox import outbox_enqueue
from core.runs import missed_beats_seconds, run_heartbeat, stale_seconds
from knowledge.services import CandidateIdsSql, candidate_status_transition


def examples_accept(*, examples: list[Example]) -> tuple[list[bool], list[str]]:
    """Whether the active classifiers accept each example (every active target's score at or above its
    threshold), and which versions judged (``target vN``; none when no target has an active version). Runs the
    models: for workers, never a web request."""
    accepted = np.ones(len(examples), dtype=bool)
    used = []
    for target, version in sorted(selectors.active_versions().items()):
        if version.threshold is None or not examples:
            continue
        scores = loaded(version).predict_proba(Batch(list(examples)))
        accepted &= np.asarray(scores) >= version.threshold
        used.append(f"{target} v{version.pk}")
    return accepted.tolist(), used


def scoring_run_start(*, version: ModelVersion, chunk_size: int | None = None) -> ScoringRun:
    """Split the scorable pool into id ranges and enqueue one task per range (after commit)."""
    if not version.is_active or version.version_token is None:
        raise Conflict("Only the active version of a target scores the pool.")
    size = int(chunk_size or conf("CHUNK_SIZE"))
    bounds = selectors.scorable_id_bounds()
    run = ScoringRun.objects.create(
        model_version=version, version_token=version.version_token, chunk_size=size, status=RunStatus.RUNNING
    )
    chunks = [] if bounds is None else list(range(bounds[0], bounds[1], size))
    ScoringChunk.objects.bulk_create(
        [ScoringChunk(run=run, start_id=start, end_id=min(start + size, bounds[1])) for start in chunks]
        if bounds
        else []
    )
    total = 0
    if bounds:
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(selectors.SCORABLE))
            cursor.execute(
                f"SELECT count(*) FROM knowledge_candidate WHERE status IN ({marks})", list(selectors.SCORABLE)
            )
            total = int(cursor.fetchone()[0])
    now = timezone.now()
    ScoringRun.objects.filter(pk=run.pk).update(
        chunks_total=len(chunks), progress_total=total, started_at=now, heartbeat_at=now
    )
    if not chunks:
        _scoring_run_finish(run.pk)
    else:
        chunk_ids = list(ScoringChunk.objects.filter(run=run).values_list("pk", flat=True))
        _enqueue_chunks(chunk_ids, queue_for(version.kind))
    run.refresh_from_db()
    return run


def _enqueue_chunks(chunk_ids: list[int], queue: str) -> None:
    """One task per chunk, through the outbox (published after the caller's commit, or by the relay), in id
    order; each chunk records when (``enqueued_at``: the sweep reads the queue's order from it)."""
    ScoringChunk.objects.filter(pk__in=chunk_ids).update(enqueued_at=timezone.now())
    for chunk_id in sorted(chunk_ids):
        outbox_enqueue(task_name="classifiers.scoring_chunk_execute", args=[chunk_id], queue=queue)


def _stale_chunk() -> Q:
    """A running chunk whose claimant stopped beating (the same rule as every run's, ``core.runs``)."""
    stale = timezone.now() - dt.timedelta(seconds=stale_seconds())
    return Q(status=ScoringChunk.Status.RUNNING) & (
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, claimed_at__lt=stale)
    )


def _missed_beats() -> Q:
    """The claimant missed three heartbeats (see ``core.runs.missed_beats_seconds``)."""
    since = timezone.now() - dt.timedelta(seconds=missed_beats_seconds())
    return Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=since)


def scoring_chunk_claim(*, chunk_id: int, claimer: str) -> bool:
    """Claim a pending chunk; a running one only by the same claimer (a redelivery after its worker died) or
    once its heartbeat is stale."""
    now = timezone.now()
    return bool(
        ScoringChunk.objects.filter(pk=chunk_id)
        .filter(
            Q(status=ScoringChunk.Status.PENDING)
            | (Q(status=ScoringChunk.Status.RUNNING, claimed_by=claimer) & _missed_beats())
            | _stale_chunk()
        )
        .update(
            status=ScoringChunk.Status.RUNNING,
            claimed_by=claimer,
            claimed_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
    )


def _chunk_scores(version: ModelVersion, chunk: ScoringChunk) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    ids = selectors.scorable_ids_in_range(chunk.start_id, chunk.end_id)
    model = loaded(version)
    info: dict[str, Any] = {}
    if isinstance(model, TfidfLogistic):
        found, rows, computed = feature_store(model.features).rows_for(
            chunk.start_id, chunk.end_id, ids, selectors.candidate_examples, HashedFeatures(model.features).transform
        )
        info["features_computed"] = computed
        return found, model.predict_proba(Batch([], {f"hashed:{model.features}": rows})), info
    examples = selectors.candidate_examples(ids)
    found_ids = [i for i in ids if i in examples]
    batch: list[Example] = [examples[i] for i in found_ids]
    return np.array(found_ids, dtype=np.int64), model.predict_proba(Batch(batch)), info


def scoring_chunk_execute(*, chunk_id: int, claimer: str) -> int:
    """Score one chunk and write its scores and its completion in one transaction; returns rows written.

    A chunk of a version that is no longer active is finished without work (its scores would be ignored).
    """
    chunk = ScoringChunk.objects.select_related("run__model_version").get(pk=chunk_id)
    run = chunk.run
    version = run.model_version
    started = time.perf_counter()
    superseded = not ModelVersion.objects.filter(
        pk=version.pk, is_active=True, version_token=run.version_token
    ).exists()
    ids, scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if not superseded:
        with run_heartbeat(ScoringChunk, run_id=chunk.pk, claimer=claimer):
            ids, scores, _info = _chunk_scores(version, chunk)
    with transaction.atomic():
        written = scores_write(ids=ids, scores=scores, version=version, token=run.version_token)
        finished = ScoringChunk.objects.filter(
            pk=chunk.pk, status=ScoringChunk.Status.RUNNING, claimed_by=claimer
        ).update(status=ScoringChunk.Status.DONE, scored=written, seconds=time.perf_counter() - started)
        if not finished:
            transaction.set_rollback(True)  # someone else finished it meanwhile: keep theirs
            return 0
        ScoringRun.objects.filter(pk=run.pk).update(
            chunks_done=F("chunks_done") + 1, progress_done=F("progress_done") + len(ids), heartbeat_at=timezone.now()
        )
        done = ScoringRun.objects.filter(pk=run.pk, chunks_done__gte=F("chunks_total")).exists()
    if done:
        _scoring_run_finish(run.pk)
    return written


def scores_write(*, ids: np.ndarray, scores: np.ndarray, version: ModelVersion, token: int) -> int:
    """Upsert (candidate, target) scores; a row keeps its score when it was written with a newer token."""
    if not len(ids):
        return 0
    now = timezone.now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS scores_in (candidate_id bigint, score double precision) "
                "ON COMMIT DELETE ROWS"
            )
            with cursor.cursor.copy("COPY scores_in (candidate_id, score) FROM STDIN") as copy:
                for candidate_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
                    copy.write_row((candidate_id, score))
            cursor.execute(
                "INSERT INTO classifiers_candidatescore (candidate_id, target, model_version_id, version_token, "
                "score, updated_at) SELECT candidate_id, %s, %s, %s, score, %s FROM scores_in "
                "ON CONFLICT (candidate_id, target) DO UPDATE SET score = excluded.score, "
                "model_version_id = excluded.model_version_id, version_token = excluded.version_token, "
                "updated_at = excluded.updated_at "
                "WHERE classifiers_candidatescore.version_token <= excluded.version_token",
                [version.target, version.pk, token, now],
            )
            written = cursor.rowcount
            cursor.execute("TRUNCATE scores_in")
            return int(written)
        cursor.executemany(
            "INSERT INTO classifiers_candidatescore (candidate_id, target, model_version_id, version_token, score, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (candidate_id, target) DO UPDATE SET "
            "score = excluded.score, model_version_id = excluded.model_version_id, "
            "version_token = excluded.version_token, updated_at = excluded.updated_at "
            "WHERE classifiers_candidatescore.version_token <= excluded.version_token",
            [
                (candidate_id, version.target, version.pk, token, score, connection.ops.adapt_datetimefield_value(now))
                for candidate_id, score in zip(ids.tolist(), scores.tolist(), strict=True)
            ],
        )
        return len(ids)


def _scoring_run_finish(run_id: int) -> bool:
    """Close a run once (conditional UPDATE), then move candidates that pass every active threshold to
    ``scored``; the ``scoring.succeeded`` event hands the new uncertainties to the annotation priorities."""
    with transaction.atomic():
        closed = ScoringRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.SUCCEEDED, finished_at=timezone.now()
        )
        if not closed:
            return False
        moved = candidates_mark_scored()
        run = ScoringRun.objects.get(pk=run_id)
        run.timings = {**run.timings, "candidates_scored": moved}
        run.phase = "done"
        run.save(update_fields=["timings", "phase"])
        event_emit(
            name="scoring.succeeded",
            payload={"scoring_run": run.pk, "target": run.model_version.target, "candidates_scored": moved},
        )
    return True


def scoring_chunk_close_run(*, chunk_id: int) -> bool:
    """For a chunk that could not be claimed: close its run if every chunk is done (see below)."""
    run_id = ScoringChunk.objects.filter(pk=chunk_id, status=ScoringChunk.Status.DONE).values_list("run_id", flat=True)
    found = run_id.first()
    return found is not None and scoring_run_finish_if_complete(run_id=found)


def scoring_run_finish_if_complete(*, run_id: int) -> bool:
    """Close a run whose every chunk is done (its last chunk's worker died between committing the chunk and
    closing the run); True when it closed it now."""
    if ScoringRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, chunks_done__gte=F("chunks_total")).exists():
        return _scoring_run_finish(run_id)
    return False


def candidates_mark_scored() -> int:
    """Pooled candidates with no human label whose active scores pass every target's threshold become
    ``scored``; scored ones that no longer pass go back to ``pooled``. Returns how many became scored."""
    actives = selectors.active_versions()
    targets = list(conf("TARGETS"))
    if any(target not in actives or actives[target].threshold is None for target in targets):
        return 0
    passes = " AND ".join(
        "EXISTS (SELECT 1 FROM classifiers_candidatescore s WHERE s.candidate_id = c.id AND s.target = %s "
        "AND s.version_token = %s AND s.score >= %s)"
        for _ in targets
    )
    params: list[Any] = []
    for target in targets:
        params += [target, actives[target].version_token, actives[target].threshold]
    unlabelled = (
        "NOT EXISTS (SELECT 1 FROM annotation_consolidatedlabel l WHERE l.candidate_id = c.id AND l.value IS NOT NULL)"
    )
    # the knowledge app moves its candidates (one UPDATE each, the lifecycle checked); these subqueries pick them
    candidate_status_transition(
        candidates=CandidateIdsSql(
            f"SELECT c.id FROM knowledge_candidate c WHERE c.status = 'scored' AND NOT ({passes})", params
        ),
        from_statuses=["scored"],
        to_status="pooled",
    )
    return candidate_status_transition(
        candidates=CandidateIdsSql(
            f"SELECT c.id FROM knowledge_candidate c WHERE c.status = 'pooled' AND {unlabelled} AND {passes}", params
        ),
        from_statuses=["pooled"],
        to_status="scored",
    )


def scoring_sweep() -> int:
    """Scoring's sweep (its runs are claimed per chunk, so ``core.runs.runs_sweep`` leaves them to this), on Celery
    beat every ``SCORING_SWEEP_SECONDS``; returns how many chunks it enqueued again.

    * A run whose every chunk is done is closed (its last chunk's worker died between the two).
    * A **running chunk whose claimant stopped beating** for ``RUN_STALE_SECONDS`` is put back to ``pending`` and
      enqueued again, whatever the broker did with its message (a Redis broker gives an unacknowledged message
      back only after its visibility timeout, an hour by default, and kombu scans for such messages at its own
      pace). So a killed worker's chunk is taken over within ``RUN_STALE_SECONDS`` plus one sweep interval (plus
      the wait behind other work in its queue). If the claimant was only slow, not dead, its final write fails
      (the chunk is no longer its own) and it keeps nothing.
    * A **pending chunk overtaken in its queue**: a chunk sent after it (later, or at the same time with a higher
      id: a queue hands messages out in the order they were sent) was claimed more than three heartbeats ago,
      yet this one is still pending, so its message was taken by a worker that died before claiming it (or
      lost). It gets a new message; this covers a worker killed between taking a message and claiming its chunk.
    * The **pending chunks of a run that nothing works on** (no chunk finished and no live claimant for
      ``RUN_STALE_SECONDS``: their messages were lost, e.g. a purged queue) are enqueued again, at most once per
      ``RUN_STALE_SECONDS``; pending chunks of a run that is progressing are waiting in the queue and left alone.
    """
    for run_id in ScoringRun.objects.filter(status=RunStatus.RUNNING, chunks_done__gte=F("chunks_total")).values_list(
        "pk", flat=True
    ):
        _scoring_run_finish(run_id)
    now = timezone.now()
    stale = now - dt.timedelta(seconds=stale_seconds())
    to_enqueue: list[tuple[int, str]] = []
    with transaction.atomic():
        dead = list(
            ScoringChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(run__status=RunStatus.RUNNING)
            .filter(_stale_chunk())
            .values_list("pk", "run__model_version__kind")
        )
        ScoringChunk.objects.filter(pk__in=[chunk_id for chunk_id, _kind in dead]).filter(_stale_chunk()).update(
            status=ScoringChunk.Status.PENDING, claimed_by="", heartbeat_at=None
        )
        to_enqueue += dead
        taken_before = now - dt.timedelta(seconds=missed_beats_seconds())
        sent_after_and_claimed = ScoringChunk.objects.filter(
            run_id=OuterRef("run_id"),
            claimed_at__lt=taken_before,
            claimed_at__gt=F("enqueued_at"),  # claimed from its latest message
        ).filter(
            Q(enqueued_at__gt=OuterRef("enqueued_at")) | Q(enqueued_at=OuterRef("enqueued_at"), pk__gt=OuterRef("pk"))
        )
        to_enqueue += list(
            ScoringChunk.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(run__status=RunStatus.RUNNING, status=ScoringChunk.Status.PENDING, enqueued_at__lt=taken_before)
            .filter(Exists(sent_after_and_claimed))
            .values_list("pk", "run__model_version__kind")
        )
        live_chunk = ScoringChunk.objects.filter(
            run=OuterRef("pk"), status=ScoringChunk.Status.RUNNING, heartbeat_at__gte=stale
        )
        idle_runs = list(
            ScoringRun.objects.select_for_update(skip_locked=True)
            .filter(status=RunStatus.RUNNING)
            .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale))
            .exclude(Exists(live_chunk))
            .values_list("pk", flat=True)
        )
        if idle_runs:
            ScoringRun.objects.filter(pk__in=idle_runs).update(heartbeat_at=now)
            dead_ids = {chunk_id for chunk_id, _kind in to_enqueue}
            to_enqueue += [
                (chunk_id, kind)
                for chunk_id, kind in ScoringChunk.objects.filter(
                    run_id__in=idle_runs, status=ScoringChunk.Status.PENDING
                ).values_list("pk", "run__model_version__kind")
                if chunk_id not in dead_ids
            ]
        by_queue: dict[str, list[int]] = {}
        for chunk_id, kind in dict(to_enqueue).items():  # a chunk found by two rules is sent once
            by_queue.setdefault(queue_for(kind), []).append(chunk_id)
        for queue, ids in by_queue.items():
            _enqueue_chunks(ids, queue)
    return len(dict(to_enqueue))
