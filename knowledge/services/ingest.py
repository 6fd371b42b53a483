"""Ingest runs: create one (CLI or API upload), claim it, execute it.

Execution reads every file once, streaming: lines are validated and staged in batches (so memory stays bounded
and progress is visible), then merged in one transaction. A file with any bad line is rejected whole unless
``skip_invalid`` is set; a file that cannot be read to its end, has a bad CSV header or holds no data fails the run
even then (its unread lines could not be written to the rejects file). Nothing is imported from a failed run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError, TooLarge
from core.events import event_emit
from core.outbox import run_enqueue
from core.runs import RunHandle, run_claim, run_execute
from core.statistics import tables_analyze_after_change
from knowledge.ingest import staging
from knowledge.ingest.readers import detect_format, file_sha256
from knowledge.models import IngestedFile, IngestRun, Relation
from knowledge.services.ingest_reading import Reading, read_file

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv")

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class IngestFileSpec:
    path: Path
    name: str


def _unstorable(ch: str) -> bool:
    """A character PostgreSQL cannot store (in ``jsonb`` either): NUL, or a lone surrogate (a file name that was
    not UTF-8 arrives in Python with surrogate escapes)."""
    return ch == "\x00" or "\ud800" <= ch <= "\udfff"


def _storable(text: str) -> bool:
    return not any(map(_unstorable, text))


def _upload_name(name: str) -> str:
    """The client's file name, made storable and short (the file itself is saved under a name of ours)."""
    return "".join("\ufffd" if _unstorable(ch) else ch for ch in name)[-200:]


def _file_entry(spec: IngestFileSpec) -> dict[str, Any]:
    return {"name": spec.name, "path": str(spec.path)}


@transaction.atomic
def ingest_run_create(
    *,
    files: Iterable[IngestFileSpec],
    source: str,
    created_by: Any = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    format: str = "",
    enqueue: bool = False,
) -> IngestRun:
    """Record an ingest of files already on this machine; with ``enqueue`` a worker executes it after commit."""
    specs = list(files)
    if not specs:
        raise ApplicationError("Give at least one file to ingest.")
    if format and format not in FORMATS:
        raise ApplicationError(f"Unknown format {format!r}; use one of {', '.join(FORMATS)}.")
    for spec in specs:
        if not (_storable(spec.name) and _storable(str(spec.path))):
            raise ApplicationError(
                f"{_upload_name(spec.name)}: the file name is not valid UTF-8 text; rename the file and try again."
            )
        if not spec.path.is_file():
            raise ApplicationError(f"{spec.name}: no such file.")
        if not format and detect_format(spec.name) is None:
            raise ApplicationError(
                f"{spec.name}: cannot tell the format from the name; name it .jsonl or .csv (optionally .gz) "
                "or give the format explicitly."
            )
    run = IngestRun.objects.create(
        source=source,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        format=format,
        files=[_file_entry(spec) for spec in specs],
        progress_total=sum(spec.path.stat().st_size for spec in specs),
    )
    if enqueue:
        _enqueue(run.pk)  # through the outbox, in this transaction
    return run


def _enqueue(run_id: int) -> None:
    from knowledge.tasks import ingest_run_execute_task

    run_enqueue(task=ingest_run_execute_task, run_id=run_id)


def uploads_save(*, uploads: list[UploadedFile], area: str, command: str) -> list[tuple[Path, str]]:
    """Store uploaded files privately (never under a public URL), in a new folder under
    ``PRIVATE_MEDIA_ROOT/<area>/``; returns each file's path and its client's name (made storable). Refuses no
    file or more than ``INGEST_MAX_UPLOAD_BYTES`` in all, pointing to ``command`` for larger files."""
    if not uploads:
        raise ApplicationError("Attach at least one file in the field 'files'.")
    total = sum(upload.size or 0 for upload in uploads)
    if total > settings.INGEST_MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"The upload is {total} bytes; the limit is {settings.INGEST_MAX_UPLOAD_BYTES} bytes. "
            f"Use `{command}` on the server for larger files."
        )
    folder = Path(settings.PRIVATE_MEDIA_ROOT) / area / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for index, upload in enumerate(uploads):
        name = _upload_name(Path(upload.name or f"upload-{index}").name) or f"upload-{index}"
        target = folder / f"{index:03d}-{name}"
        with target.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        saved.append((target, name))
    return saved


def ingest_run_create_from_uploads(
    *,
    uploads: list[UploadedFile],
    created_by: Any,
    dry_run: bool = False,
    skip_invalid: bool = False,
    format: str = "",
) -> IngestRun:
    """Store uploaded files privately (never under a public URL) and queue their ingest."""
    saved = uploads_save(uploads=uploads, area="ingest", command="manage.py ingest")
    return ingest_run_create(
        files=[IngestFileSpec(path=path, name=name) for path, name in saved],
        source=IngestRun.Source.API,
        created_by=created_by,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        format=format,
        enqueue=True,
    )


def ingest_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Take a queued run for execution; False when another worker already has it (at-most-once start). A
    running run is taken over by a redelivery of its own task, or by anyone once its heartbeat is stale
    (``core.runs``): execution starts over, which is safe because the staging table is recreated and the merge is
    one transaction that commits with the run's end."""
    return run_claim(IngestRun, run_id=run_id, claimer=claimer, phase=IngestRun.Phase.READING)


def ingest_run_supersede(*, run_id: int, reason: str) -> bool:
    """Fail a run that will never finish because the work that owned it starts over (a resumed generation run
    ingests its explanations again); a run that already ended is left as it is."""
    return bool(
        IngestRun.objects.filter(pk=run_id, status__in=[IngestRun.Status.QUEUED, IngestRun.Status.RUNNING]).update(
            status=IngestRun.Status.FAILED, phase=IngestRun.Phase.DONE, message=reason, finished_at=timezone.now()
        )
    )


def ingest_run_execute(
    *, run_id: int, progress: ProgressCallback | None = None, after_merge: Callable[[IngestRun], None] | None = None
) -> IngestRun:
    """Execute a claimed run: validate and stage every file, then merge all of them or none.

    Files whose content was ingested before (by SHA-256) are skipped, so re-ingesting a file changes nothing.
    The run record carries counts, the first 50 problems and timings whatever the outcome. ``after_merge`` is
    called with the run inside the merge's transaction, after the candidates are written (an app above knowledge
    adds its own writes there, e.g. an import's labels, so they land with the candidates or not at all).
    """
    run = IngestRun.objects.get(pk=run_id)
    if run.status != IngestRun.Status.RUNNING:
        raise ApplicationError(f"Ingest run {run_id} is {run.status}, not running; claim it first.")
    return run_execute(
        IngestRun,
        run_id=run_id,
        work=lambda handle: _execute(run, handle, after_merge),
        failure_message=lambda exc: f"Internal error ({type(exc).__name__}: {exc}); nothing was imported.",
        progress=progress,
    )


def _execute(run: IngestRun, handle: RunHandle, after_merge: Callable[[IngestRun], None] | None = None) -> None:
    started = time.monotonic()
    _drop_abandoned_staging_tables()
    staging.staging_create(run.pk)
    state = Reading(run, handle)
    try:
        relation_ids = dict(Relation.objects.filter(is_active=True).values_list("slug", "id"))
        writer = staging.StagingWriter(run.pk)
        seen_digests: set[str] = set()
        bytes_before = 0
        for file_no, entry in enumerate(run.files):
            path = Path(entry["path"])
            entry["size"] = path.stat().st_size
            entry["sha256"] = file_sha256(path)
            if entry["sha256"] in seen_digests:
                entry["outcome"] = "duplicate_in_run"
            elif IngestedFile.objects.filter(sha256=entry["sha256"]).exists():
                entry["outcome"] = "already_ingested"
            else:
                seen_digests.add(entry["sha256"])
                read_file(
                    state=state,
                    entry=entry,
                    file_no=file_no,
                    relation_ids=relation_ids,
                    writer=writer,
                    bytes_before=bytes_before,
                )
                entry["outcome"] = "read"
            bytes_before += entry["size"]
            state.bytes_done = bytes_before
        if state.rejects_handle is not None:
            state.rejects_handle.close()
        state.report(force=True)
        read_seconds = time.monotonic() - started
        _finish(run=run, state=state, handle=handle, read_seconds=read_seconds, after_merge=after_merge)
    except Exception:
        handle.update(phase=IngestRun.Phase.DONE)
        raise
    finally:
        if state.rejects_handle is not None and not state.rejects_handle.closed:
            state.rejects_handle.close()
        staging.staging_drop(run.pk)


_RESULT_FIELDS = (
    "lines_total",
    "lines_valid",
    "lines_invalid",
    "error_count",
    "errors",
    "rejects_path",
    "progress_done",
    "timings",
    "files",
    "phase",
    "candidates_created",
    "candidates_merged",
    "products_created",
    "queries_created",
    "pairs_created",
)


def _end(run: IngestRun, handle: RunHandle, *, status: str) -> None:
    handle.finish(status=status, message=run.message, **{name: getattr(run, name) for name in _RESULT_FIELDS})


def _finish(
    *,
    run: IngestRun,
    state: Reading,
    handle: RunHandle,
    read_seconds: float,
    after_merge: Callable[[IngestRun], None] | None = None,
) -> None:
    run.lines_total = state.lines_total
    run.lines_valid = state.lines_valid
    run.lines_invalid = state.lines_invalid
    run.error_count = state.error_count
    run.errors = state.errors
    run.rejects_path = state.rejects_path
    run.progress_done = run.progress_total
    run.timings = {"read": round(read_seconds, 3)}
    skipped = [entry["name"] for entry in run.files if entry.get("outcome") in ("already_ingested", "duplicate_in_run")]
    skipped_note = f" Skipped as already ingested: {', '.join(skipped)}." if skipped else ""
    rejected = bool(state.files_unreadable or (state.error_count and not run.skip_invalid))
    run.phase = IngestRun.Phase.DONE
    if rejected or run.dry_run:
        for entry in run.files:
            if entry.get("outcome") == "read":
                entry["outcome"] = "rejected" if rejected else "validated"
        if rejected:
            where = []
            if state.lines_invalid or not state.files_unreadable:
                where.append(f"{state.lines_invalid} of {state.lines_total} line(s)")
            if state.files_unreadable:
                where.append(
                    f"{state.files_unreadable} file(s) that cannot be used (unreadable, bad header or no data)"
                )
            run.message = (
                f"{state.error_count} problem(s) in {' and '.join(where)}; nothing was imported.{skipped_note}"
            )
        else:
            run.message = (
                f"Dry run: {state.lines_valid} valid line(s), {state.lines_invalid} invalid; nothing was imported."
                f"{skipped_note}"
            )
        _end(run, handle, status=IngestRun.Status.FAILED if rejected else IngestRun.Status.SUCCEEDED)
        return

    handle.update(phase=IngestRun.Phase.MERGING)
    merge_started = time.monotonic()
    try:
        with transaction.atomic():
            counts = staging.staging_merge(run_id=run.pk, now=timezone.now(), staged_rows=state.lines_valid)
            IngestedFile.objects.bulk_create(
                [
                    IngestedFile(
                        run=run,
                        name=entry["name"],
                        sha256=entry["sha256"],
                        size=entry["size"],
                        line_count=entry.get("lines", 0),
                    )
                    for entry in run.files
                    if entry.get("outcome") == "read"
                ]
            )
            for entry in run.files:
                if entry.get("outcome") == "read":
                    entry["outcome"] = "ingested"
            run.candidates_created = counts.candidates_created
            run.candidates_merged = counts.candidates_merged
            run.products_created = counts.products_created
            run.queries_created = counts.queries_created
            run.pairs_created = counts.pairs_created
            run.timings["merge"] = round(time.monotonic() - merge_started, 3)
            run.timings.update({f"merge_{step}": seconds for step, seconds in counts.seconds.items()})
            skipped_lines = f" Skipped {state.lines_invalid} invalid line(s)." if state.lines_invalid else ""
            run.message = (
                f"Imported {state.lines_valid} line(s): {counts.candidates_created} new candidate(s), "
                f"{counts.candidates_merged} existing candidate(s) gained support.{skipped_lines}{skipped_note}"
            )
            if after_merge is not None:
                after_merge(run)
            # the merge and the run's end commit together: a claimant that lost the run rolls its merge back
            _end(run, handle, status=IngestRun.Status.SUCCEEDED)
            event_emit(
                name="ingest.succeeded",
                payload={"ingest_run": run.pk, "source": run.source, "candidates_created": run.candidates_created},
            )
        # The merge's time includes its commit, where PostgreSQL checks the deferred foreign keys of every new row.
        run.timings["merge"] = round(time.monotonic() - merge_started, 3)
        IngestRun.objects.filter(pk=run.pk).update(timings=run.timings)
        # Statistics that see the new rows, for the filter run and the annotators that follow (issue 22).
        tables_analyze_after_change(
            changed={
                "knowledge_candidate": run.candidates_created + run.candidates_merged,
                "knowledge_behaviourpair": run.pairs_created,
                "knowledge_product": run.products_created,
                "knowledge_searchquery": run.queries_created,
            }
        )
    except IntegrityError as exc:
        for entry in run.files:
            if entry.get("outcome") == "ingested":
                entry["outcome"] = "read"
        run.message = f"Another ingest imported the same file at the same time; nothing was imported ({exc})."
        _end(run, handle, status=IngestRun.Status.FAILED)


def _drop_abandoned_staging_tables() -> None:
    """Drop staging tables left by runs that are no longer running (a worker that died mid-read)."""
    running = set(IngestRun.objects.filter(status=IngestRun.Status.RUNNING).values_list("pk", flat=True))
    for table in staging.staging_tables():
        suffix = table.removeprefix(staging.STAGING_PREFIX)
        if suffix.isdigit() and int(suffix) not in running:
            with transaction.atomic():
                staging.staging_drop(int(suffix))
