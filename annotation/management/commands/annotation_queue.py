"""``python manage.py annotation_queue``: queue the pooled candidates and recompute every priority.

    python manage.py annotation_queue [--no-gold] [--settle-exhausted]

Candidates ingested with known answers become gold questions (they test annotators); ``--no-gold`` queues them as
ordinary candidates instead (a simulation or an evaluation set whose known answers are the truth to annotate, see
``simulate_annotators``). The priorities take the active classifiers' uncertainty, estimated ROC AUC and scores
(``annotation.priorities.priority_inputs``). ``--settle-exhausted`` also settles the candidates that no
annotator may see any more (``annotation.services.exhausted``; Celery beat does it every minute).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotation.priorities import priority_inputs, queue_fill_prioritised
from annotation.services.exhausted import queue_exhausted_settle


class Command(BaseCommand):
    help = "Add pooled candidates to the annotation queue and recompute the priorities in bulk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-gold",
            action="store_true",
            help="Queue candidates with known answers as ordinary ones (not as gold questions).",
        )
        parser.add_argument(
            "--settle-exhausted", action="store_true", help="Settle candidates that no annotator may see any more."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        added, updated = queue_fill_prioritised(gold_from_known_labels=not options["no_gold"], **priority_inputs())
        self.stdout.write(f"{added} candidate(s) queued; priorities recomputed for {updated} open item(s).")
        if options["settle_exhausted"]:
            self.stdout.write(f"{queue_exhausted_settle()} candidate(s) settled with no annotator left.")
