"""``python manage.py export_graph --format jsonl|neo4j|ntriples|instructions|csv [--relation ...]
[--category ...]``: write the accepted graph (streaming, bounded memory) with a progress bar, recorded as an
ExportRun like the web's exports. The same command writes annotation's data: ``--format answers|answers_csv``
(every answer, annotators pseudonymised unless ``--include-usernames``), ``labels|labels_csv`` (every consolidated
label) and ``hf_dataset`` (a zipped Hugging Face dataset folder; ``--output DIR/`` unzips it there)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from curation.models import ExportRun
from curation.services import export_folder, export_run_claim, export_run_create, export_run_execute


class Command(BaseCommand):
    help = (
        "Export the accepted knowledge graph (JSON Lines, Neo4j CSV zip, RDF N-Triples, instructions, CSV), the "
        "answers and labels (JSON Lines, CSV), or the Hugging Face dataset folder."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=ExportRun.Format.values, default="jsonl")
        parser.add_argument("--relation", action="append", default=[], help="Only this relation (repeatable).")
        parser.add_argument("--category", action="append", default=[], help="Only this category (repeatable).")
        parser.add_argument("--min-score", type=float)
        parser.add_argument("--approved-from", help="ISO date or datetime (inclusive).")
        parser.add_argument("--approved-to", help="ISO date or datetime (exclusive).")
        parser.add_argument(
            "--include-usernames",
            action="store_true",
            help="Answer exports: annotators' usernames instead of their pseudonyms.",
        )
        parser.add_argument(
            "--output",
            help="Also copy the file here (hf_dataset: a path ending in / or an existing folder gets the folder).",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        filters: dict[str, Any] = {}
        if options["relation"]:
            filters["relations"] = options["relation"]
        if options["category"]:
            filters["categories"] = options["category"]
        if options["min_score"] is not None:
            filters["min_score"] = options["min_score"]
        for key in ("approved_from", "approved_to"):
            if options[key]:
                filters[key] = options[key]
        if options["include_usernames"]:
            filters["include_usernames"] = True
        run = export_run_create(format=options["format"], filters=filters, enqueue=False)  # runs here
        export_run_claim(run_id=run.pk)
        bar = tqdm(unit=" records", disable=options["no_progress"])
        last = 0

        def progress(done: int) -> None:
            nonlocal last
            bar.update(done - last)
            last = done

        try:
            run = export_run_execute(run_id=run.pk, progress=progress)
        except Exception as exc:
            raise CommandError(f"The export failed: {exc}") from exc
        finally:
            bar.close()
        path = export_folder() / run.file_name
        raw_output: str | None = options["output"]
        output = Path(raw_output) if raw_output else None
        if output and run.format == ExportRun.Format.HF_DATASET and (str(raw_output).endswith("/") or output.is_dir()):
            output.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path) as archive:
                archive.extractall(output)  # our own archive: plain relative names
            path = output
        elif output:
            shutil.copyfile(path, output)
            path = output
        self.stdout.write(
            f"export #{run.pk}: {run.counts} -> {path} ({run.file_size:,} bytes, sha256 {run.sha256}) "
            f"in {run.timings.get('total_s', 0):.1f} s"
        )
