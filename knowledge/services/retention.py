"""Retention of uploaded ingest files: a finished run's files are deleted once they are older than
``INGEST_FILE_RETENTION_DAYS`` (0 keeps them for ever), and the run records when (``files_removed_at``).

Only files this app wrote are deleted: uploads under ``PRIVATE_MEDIA_ROOT/ingest/`` and rejects files under
``PRIVATE_MEDIA_ROOT/ingest-rejects/``; a file the ``ingest`` command was given on the server stays where its
owner put it. A queued or running run is never touched (its worker reads the files, and a run taken over reads
them again). The candidates and the run's record stay; only the bytes go.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.runs import RunStatus
from knowledge.models import IngestRun

logger = logging.getLogger(__name__)

FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)
BATCH = 500


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _delete(path: Path, folder: Path) -> None:
    """Delete ``path`` when it lies inside ``folder``, then its parent folder when that is now empty (an upload's
    own folder)."""
    if not _inside(path, folder):
        return
    path.unlink(missing_ok=True)
    parent = path.parent
    if parent.resolve() != folder.resolve():
        with contextlib.suppress(OSError):  # not empty (another file of the run still there) or already gone
            parent.rmdir()


def ingest_files_expire(*, retention_days: int | None = None) -> int:
    """Delete the files of finished ingest runs that ended more than ``retention_days`` ago (default
    ``INGEST_FILE_RETENTION_DAYS``; 0 or less: keep everything) and stamp ``files_removed_at``; returns how many
    runs were cleaned. Files are deleted before the stamp, so an interruption leaves runs to clean again (deleting
    a missing file is a no-op); the stamp is one UPDATE per batch, conditional on the run being finished."""
    days = settings.INGEST_FILE_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    uploads, rejects = root / "ingest", root / "ingest-rejects"
    now = timezone.now()
    expired = (
        IngestRun.objects.filter(
            status__in=FINISHED, finished_at__lt=now - timedelta(days=days), files_removed_at__isnull=True
        )
        .filter(Q(source=IngestRun.Source.API) | ~Q(rejects_path=""))
        .order_by("pk")
    )
    cleaned = 0
    last = 0
    while True:
        rows = list(expired.filter(pk__gt=last).values_list("pk", "files", "rejects_path")[:BATCH])
        if not rows:
            return cleaned
        for _pk, files, rejects_path in rows:
            for entry in files:
                if entry.get("path"):
                    _delete(Path(entry["path"]), uploads)
            if rejects_path:
                _delete(Path(rejects_path), rejects)
        ids = [pk for pk, _files, _rejects in rows]
        cleaned += IngestRun.objects.filter(pk__in=ids, status__in=FINISHED, files_removed_at__isnull=True).update(
            files_removed_at=now
        )
        last = ids[-1]
        logger.info("ingest retention: removed the files of %d runs (up to #%d)", len(ids), last)
