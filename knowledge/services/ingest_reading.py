"""The reading phase of an ingest run: every line validated and staged in batches, bad lines counted, kept (the
first 50) and, with ``skip_invalid``, written to a rejects file; progress reported through the run's handle."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.runs import RunHandle
from knowledge.ingest import staging
from knowledge.ingest.parsing import LineError, LineParser
from knowledge.ingest.readers import detect_format, iter_csv, iter_jsonl, open_content
from knowledge.models import IngestRun

MAX_KEPT_ERRORS = 50
BATCH_ROWS = 5_000
PROGRESS_EVERY_SECONDS = 0.5


class Reading:
    """Mutable state of the reading phase: counters, kept errors, the rejects file and progress."""

    def __init__(self, run: IngestRun, handle: RunHandle) -> None:
        self.run = run
        self.handle = handle
        self.lines_total = 0
        self.lines_valid = 0
        self.lines_invalid = 0
        self.error_count = 0
        self.files_unreadable = 0
        self.errors: list[dict[str, Any]] = []
        self.bytes_done = 0
        self.rejects_handle: Any = None
        self.rejects_path = ""
        self._last_report = 0.0

    def add_errors(self, errors: list[LineError], raw: bytes | None) -> None:
        """Count and keep a line's errors; ``raw`` None marks a file-level problem (no line to reject)."""
        self.error_count += len(errors)
        for error in errors:
            if len(self.errors) < MAX_KEPT_ERRORS:
                self.errors.append(error.as_dict())
        if raw is None:
            self.files_unreadable += 1
            return
        if self.run.skip_invalid and errors:
            if self.rejects_handle is None:
                folder = Path(settings.PRIVATE_MEDIA_ROOT) / "ingest-rejects"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"run-{self.run.pk}.jsonl"
                self.rejects_handle = path.open("wb")
                self.rejects_path = str(path)
            first = errors[0]
            self.rejects_handle.write(
                orjson.dumps(
                    {
                        "file": first.file,
                        "line": first.line,
                        "errors": [{"field": e.field, "message": e.message} for e in errors],
                        "raw": raw.decode("utf-8", "replace").rstrip("\r\n"),
                    }
                )
                + b"\n"
            )

    def report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_report < PROGRESS_EVERY_SECONDS:
            return
        self._last_report = now
        self.handle.update(
            progress_done=self.bytes_done,
            lines_total=self.lines_total,
            lines_valid=self.lines_valid,
            lines_invalid=self.lines_invalid,
            error_count=self.error_count,
            heartbeat_at=timezone.now(),
        )
        if self.handle.callback is not None:
            self.handle.callback(self.bytes_done, self.run.progress_total)


def read_file(
    *,
    state: Reading,
    entry: dict[str, Any],
    file_no: int,
    relation_ids: dict[str, int],
    writer: staging.StagingWriter,
    bytes_before: int,
) -> None:
    path = Path(entry["path"])
    name = entry["name"]
    file_format = state.run.format or detect_format(name) or ""
    parser = LineParser(relation_ids=relation_ids, file_name=name, file_no=file_no)
    iterate = iter_jsonl if file_format == "jsonl" else iter_csv
    batch: list[tuple[Any, ...]] = []
    lines_in_file = 0
    with path.open("rb", buffering=1024 * 1024) as raw:
        content = open_content(raw, max_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES)
        for _line_no, result, raw_line in iterate(content, parser):
            if raw_line is None:  # the file itself: unreadable past a point, or no data at all
                state.add_errors(cast(list[LineError], result), None)
                continue
            lines_in_file += 1
            state.lines_total += 1
            if isinstance(result, list):
                state.lines_invalid += 1
                state.add_errors(result, raw_line)
                continue
            state.lines_valid += 1
            batch.append(result)
            if len(batch) >= BATCH_ROWS:
                with transaction.atomic():
                    writer.write(batch)
                batch.clear()
                state.bytes_done = bytes_before + raw.tell()
                state.report()
    if batch:
        with transaction.atomic():
            writer.write(batch)
    entry["format"] = file_format
    entry["lines"] = lines_in_file
