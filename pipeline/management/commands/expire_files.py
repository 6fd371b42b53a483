"""Delete the files of finished runs past their retention: uploaded ingest files and rejects files
(``INGEST_FILE_RETENTION_DAYS``) and export files (``EXPORT_FILE_RETENTION_DAYS``). Celery beat runs the same
services every hour; this command is for installs without beat and for cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from curation.services import export_files_expire
from knowledge.services import ingest_files_expire


class Command(BaseCommand):
    help = "Delete ingest uploads and export files of finished runs older than their retention (runs are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ingest-days", type=int, default=None, help="Override INGEST_FILE_RETENTION_DAYS.")
        parser.add_argument("--export-days", type=int, default=None, help="Override EXPORT_FILE_RETENTION_DAYS.")

    def handle(self, *args: Any, **options: Any) -> None:
        ingest = ingest_files_expire(retention_days=options["ingest_days"])
        exports = export_files_expire(retention_days=options["export_days"])
        self.stdout.write(f"ingest runs cleaned: {ingest}; export runs cleaned: {exports}")
