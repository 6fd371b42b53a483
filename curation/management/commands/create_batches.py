"""``python manage.py create_batches [--target-size N] [--across-relations] [--max-batches K] [--seed S]``: form
review batches of every scored candidate in no open batch (or the plan's first K), like
``POST /api/curation/batches``, and print what they hold."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from curation.selectors import curation_queue
from curation.services import review_batches_create


class Command(BaseCommand):
    help = "Group the scored candidates into review batches with stratified audit samples."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--target-size", type=int, help="Candidates per batch (default BATCH_TARGET_SIZE).")
        parser.add_argument(
            "--across-relations", action="store_true", help="Let a batch hold several relations (off by default)."
        )
        parser.add_argument("--max-batches", type=int, help="Form only the plan's first K batches (default: all).")
        parser.add_argument("--seed", type=int, help="Seed of the audit samples (for reproducible runs).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["target_size"] is not None and options["target_size"] < 1:
            raise CommandError("--target-size must be at least 1.")
        if options["max_batches"] is not None and options["max_batches"] < 1:
            raise CommandError("--max-batches must be at least 1.")
        try:
            batches = review_batches_create(
                target_size=options["target_size"],
                across_relations=options["across_relations"],
                max_batches=options["max_batches"],
                seed=options["seed"],
            )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        for batch in batches:
            self.stdout.write(
                f"batch #{batch.pk}: {batch.size} candidates, {batch.strata.count()} strata, audit {batch.audit_size}"
            )
        queue = curation_queue()
        self.stdout.write(
            f"{len(batches)} new batch(es); {queue['open_batches']} open, "
            f"{queue['audit_left_total']} audit answers left in all."
        )
