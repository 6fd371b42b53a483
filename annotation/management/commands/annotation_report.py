"""``python manage.py annotation_report``: agreement per question and annotator statistics."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotation.reports import agreement_report, labels_consolidate_dawid_skene


class Command(BaseCommand):
    help = "Print agreement per question (alpha, AC1, percent) and per-annotator throughput and gold accuracy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dawid-skene", metavar="QUESTION", default=None, help="First re-estimate a question's labels."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dawid_skene"]:
            written = labels_consolidate_dawid_skene(question_slug=options["dawid_skene"])
            self.stdout.write(f"Dawid-Skene: {written} label(s) of {options['dawid_skene']} re-estimated.")
        report = agreement_report()
        self.stdout.write(f"{'question':<12}{'answers':>8}{'items':>7}{'alpha':>8}{'AC1':>8}{'agree':>8}")
        for row in report["questions"]:
            cells = [row[k] for k in ("krippendorff_alpha", "gwet_ac1", "percent_agreement")]
            shown = "".join(f"{'-' if v is None else f'{v:.3f}':>8}" for v in cells)
            self.stdout.write(f"{row['question']:<12}{row['answers']:>8}{row['items']:>7}{shown}")
        self.stdout.write(
            f"{'annotator':<20}{'answers':>8}{'today':>7}{'median s':>9}{'gold':>6}{'gold acc':>9}  flags"
        )
        for row in report["annotators"]:
            accuracy = "-" if row["gold_accuracy"] is None else f"{row['gold_accuracy']:.2f}"
            median = "-" if row["median_seconds"] is None else f"{row['median_seconds']:.1f}"
            flags = " ".join(name for name in ("flagged", "paused") if row[name])
            self.stdout.write(
                f"{row['annotator']:<20}{row['answers']:>8}{row['answers_today']:>7}{median:>9}"
                f"{row['gold_answers']:>6}{accuracy:>9}  {flags}"
            )
