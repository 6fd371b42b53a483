"""Exports of the accepted graph: queued export runs, written by a worker through the shared runner."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation import exports as annotation_exports
from core.errors import ApplicationError
from core.events import event_emit
from core.outbox import run_enqueue
from core.runs import RunHandle, run_claim, run_execute
from curation import data_exports, exports, hf_dataset
from curation.models import CurationEvent, ExportRun
from curation.services.common import _conf, _log

logger = logging.getLogger(__name__)

# --- exports ----------------------------------------------------------------------------------------------------

EXPORT_SUFFIX = {
    "jsonl": ".jsonl",
    "neo4j": ".zip",
    "ntriples": ".nt",
    "instructions": ".instructions.jsonl",
    "csv": ".csv",
    "answers": ".answers.jsonl",
    "answers_csv": ".answers.csv",
    "labels": ".labels.jsonl",
    "labels_csv": ".labels.csv",
    "hf_dataset": ".hf-dataset.zip",
}
# The exports of annotation's data (``curation.data_exports``, ``curation.hf_dataset``) rather than the graph:
# format -> (what the file holds, the count that is its progress, how many there are to write).
DATA_FORMATS: dict[str, tuple[str, str, Callable[[dict[str, Any]], int]]] = {
    "answers": ("answers", "answers", lambda filters: annotation_exports.answers_count()),
    "answers_csv": ("answers", "answers", lambda filters: annotation_exports.answers_count()),
    "labels": ("labels", "labels", lambda filters: annotation_exports.labels_count()),
    "labels_csv": ("labels", "labels", lambda filters: annotation_exports.labels_count()),
    # the candidates, then the instruction data (edges, then judgements: the total leaves those out)
    "hf_dataset": (
        "dataset",
        "rows",
        lambda filters: annotation_exports.labelled_candidates_count() + exports.count_edges(filters),
    ),
}


def export_folder() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "exports"


def export_run_create(
    *, format: str, filters: dict[str, Any] | None = None, actor: Any = None, enqueue: bool = True
) -> ExportRun:
    """Queue an export of the accepted graph; the file is written by a worker (no export in a web request).
    ``enqueue=False`` is for the management command, which runs it in its own process."""
    if format not in ExportRun.Format.values:
        raise ApplicationError(f"Unknown format {format!r}; formats: {', '.join(ExportRun.Format.values)}.")
    with transaction.atomic():
        run = ExportRun.objects.create(
            format=format,
            filters=filters or {},
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if enqueue:
            from curation.tasks import export_run_execute_task

            run_enqueue(task=export_run_execute_task, run_id=run.pk)  # through the outbox
    return run


def export_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Take a queued export; a running one only by a redelivery of its own task or once its heartbeat is stale
    (the file is then written again from the start)."""
    return run_claim(ExportRun, run_id=run_id, claimer=claimer, progress_done=0)


def export_run_execute(*, run_id: int, progress: Callable[[int], None] | None = None) -> ExportRun:
    """Write the export file (streaming, under a temporary name), then record its size, checksum and counts and
    put it in place in the transaction that ends the run, so that an export completes once."""
    return run_execute(ExportRun, run_id=run_id, work=lambda handle: _export(run_id, handle, progress))


def _export(run_id: int, handle: RunHandle, progress: Callable[[int], None] | None) -> None:
    run = ExportRun.objects.get(pk=run_id)
    started = time.perf_counter()
    folder = export_folder()
    folder.mkdir(parents=True, exist_ok=True)
    data = DATA_FORMATS.get(run.format)
    name = f"plausi-{data[0] if data else 'graph'}-{run.pk}{EXPORT_SUFFIX[run.format]}"
    path = folder / name
    for leftover in folder.glob(f".{name}.*.partial"):  # an earlier attempt's, whose worker died
        leftover.unlink(missing_ok=True)
    partial = folder / f".{name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        total = data[2](run.filters) if data else exports.count_edges(run.filters)
        handle.update(progress_total=total, file_name=name, phase="writing")

        def report(done: int) -> None:
            handle.progress(done=done)
            if progress is not None:
                progress(done)

        if run.format == ExportRun.Format.NEO4J:
            counts = exports.write_neo4j_zip(partial, run.filters, report)
        elif run.format == ExportRun.Format.HF_DATASET:
            counts = hf_dataset.write_hf_dataset(partial, run.filters, report)
        elif data:
            writer = {
                "answers": data_exports.write_answers,
                "answers_csv": data_exports.write_answers_csv,
                "labels": data_exports.write_labels,
                "labels_csv": data_exports.write_labels_csv,
            }[run.format]
            with partial.open("wb") as out:
                counts = writer(out, run.filters, report)
        else:
            with partial.open("wb") as out:
                if run.format == ExportRun.Format.JSONL:
                    counts = exports.write_jsonl(out, run.filters, report)
                elif run.format == ExportRun.Format.INSTRUCTIONS:
                    counts = exports.write_instructions(out, run.filters, report)
                elif run.format == ExportRun.Format.SPREADSHEET:
                    counts = exports.write_spreadsheet_csv(out, run.filters, report)
                else:
                    counts = exports.write_ntriples(out, run.filters, report, base=_conf("RDF_BASE"))
        size, digest = partial.stat().st_size, exports.file_sha256(partial)
        unit = data[1] if data else "edges"
        with transaction.atomic():
            handle.finish(
                message=f"{counts[unit]:,} {unit} written",
                phase="done",
                progress_done=counts[unit],
                file_size=size,
                sha256=digest,
                counts=counts,
                timings={"total_s": round(time.perf_counter() - started, 3)},
            )
            _log(CurationEvent.Action.EXPORT, run.created_by, export=run.pk, format=run.format, counts=counts)
            event_emit(
                name="export.succeeded",
                payload={"export_run": run.pk, "format": run.format, "file_name": name, "file_size": size}
                | {"sha256": digest, "edges": counts.get("edges", 0), "rows": counts[unit], "unit": unit},
            )
            partial.replace(path)  # last: if the transaction fails after this, the run is taken over and rewrites it
    finally:
        partial.unlink(missing_ok=True)


# --- retention --------------------------------------------------------------------------------------------------

RETENTION_BATCH = 500


def export_files_expire(*, retention_days: int | None = None) -> int:
    """Delete the files of finished exports that ended more than ``retention_days`` ago (default
    ``EXPORT_FILE_RETENTION_DAYS``; 0 or less: keep everything) and stamp ``file_removed_at``, so that pages and
    the API say "expired" and the download answers 410; returns how many runs were cleaned. A queued or running
    export is never touched. Files go before the stamp (an interruption leaves runs to clean again); the stamp is
    one UPDATE per batch, conditional on the run being finished."""
    days = settings.EXPORT_FILE_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0
    finished = (ExportRun.Status.SUCCEEDED, ExportRun.Status.FAILED)
    now = timezone.now()
    expired = ExportRun.objects.filter(
        status__in=finished, finished_at__lt=now - timedelta(days=days), file_removed_at__isnull=True
    ).order_by("pk")
    folder = export_folder()
    cleaned = 0
    last = 0
    while True:
        rows = list(expired.filter(pk__gt=last).values_list("pk", "file_name")[:RETENTION_BATCH])
        if not rows:
            return cleaned
        for _pk, name in rows:
            if name and Path(name).name == name:  # a bare name under the export folder, nothing else
                (folder / name).unlink(missing_ok=True)
        ids = [pk for pk, _name in rows]
        cleaned += ExportRun.objects.filter(pk__in=ids, status__in=finished, file_removed_at__isnull=True).update(
            file_removed_at=now
        )
        last = ids[-1]
        logger.info("export retention: removed the files of %d runs (up to #%d)", len(ids), last)
