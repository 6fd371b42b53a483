"""``python manage.py ingest FILE...``: validate and import candidate knowledge (see docs/formats.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from knowledge.models import IngestRun
from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute


class Command(BaseCommand):
    help = "Ingest candidate knowledge from JSON Lines or CSV files (plain or gzipped). All files or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", choices=["jsonl", "csv"], default="", help="Override the format.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; import nothing.")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid lines and write every skipped line to a rejects file.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        specs = [IngestFileSpec(path=path.resolve(), name=path.name) for path in options["files"]]
        try:
            run = ingest_run_create(
                files=specs,
                source=IngestRun.Source.CLI,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                format=options["format"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        ingest_run_claim(run_id=run.pk)
        bar = tqdm(
            total=run.progress_total,
            unit="B",
            unit_scale=True,
            desc=f"ingest #{run.pk}",
            disable=options["no_progress"] or None,
            file=self.stderr._out,
        )

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        try:
            run = ingest_run_execute(run_id=run.pk, progress=progress)
        finally:
            bar.close()
        self._report(run)
        if run.status != IngestRun.Status.SUCCEEDED:
            raise CommandError(f"ingest #{run.pk} failed: {run.message}")

    def _report(self, run: IngestRun) -> None:
        write = self.stdout.write
        write(f"ingest #{run.pk}: {run.status}. {run.message}")
        for entry in run.files:
            write(f"  {entry['name']}: {entry.get('outcome', '?')}, {entry.get('lines', 0)} line(s)")
        write(
            f"  lines: {run.lines_total} read, {run.lines_valid} valid, {run.lines_invalid} invalid; "
            f"candidates: {run.candidates_created} new, {run.candidates_merged} merged; "
            f"products: {run.products_created} new; queries: {run.queries_created} new; "
            f"pairs: {run.pairs_created} new; timings: {run.timings}"
        )
        if run.errors:
            write(f"  problems (first {len(run.errors)} of {run.error_count}):")
            for error in run.errors:
                write(f"    {error['file']} line {error['line']}, {error['field']}: {error['message']}")
        if run.rejects_path:
            write(f"  skipped lines written to {run.rejects_path}")
