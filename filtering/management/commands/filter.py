"""``python manage.py filter``: run the filters over the pool now (with a progress bar) and print the report."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from filtering.models import FilterRun
from filtering.services import filter_run_claim, filter_run_create, filter_run_execute


class Command(BaseCommand):
    help = "Run the rule-based and similarity filters over the pool (the active configuration by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--config-version", type=int, default=None)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = filter_run_create(configuration_version=options["config_version"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        filter_run_claim(run_id=run.pk)
        bar = tqdm(desc=f"filter #{run.pk}", unit="cand", disable=options["no_progress"] or None, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            run = filter_run_execute(run_id=run.pk, progress=progress)
        finally:
            bar.close()
        if run.status != FilterRun.Status.SUCCEEDED:
            raise CommandError(f"filter run #{run.pk} failed: {run.message}")
        from filtering.management.commands.filter_report import write_report

        write_report(self.stdout.write, run)
