"""``python manage.py filter_report [RUN]``: counts per rule, overlaps and examples (the latest run by default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from filtering import selectors
from filtering.models import FilterRun


def write_report(write: Callable[[str], Any], run: FilterRun) -> None:
    write(f"filter run #{run.pk} (configuration v{run.configuration.version}): {run.status}. {run.message}")
    report = run.report or {}
    write(f"  timings: {run.timings}")
    write("  drops per rule:")
    for rule, count in report.get("per_rule", {}).items():
        write(f"    {rule:<24} {count:>9}")
    write(f"  dropped by exactly one rule: {report.get('dropped_by_one_rule_only', 0)}")
    if report.get("overlap"):
        write("  overlap (candidates dropped by both):")
        for pair in report["overlap"]:
            write(f"    {' + '.join(pair['rules']):<40} {pair['candidates']:>9}")
    labelled = report.get("labelled")
    if labelled:
        write("  on candidates with a known plausible label (not plausible share = precision of a drop):")
        for name, counts in selectors.labelled_outcome_rows(labelled):
            share = counts["not_plausible_share"]
            write(
                f"    {name:<32} {counts['labelled']:>7} labelled, {counts['plausible']:>7} plausible, "
                f"not plausible {'-' if share is None else f'{100 * share:.1f}%'}"
            )
        merged = labelled.get("near_duplicates")
        if merged and merged["pairs"]:
            write(
                f"    near-duplicates with a labelled representative: {merged['pairs']} pairs, "
                f"{merged['same_label']} with its label ({100 * merged['same_label_share']:.1f}%: a merge's precision)"
            )
    for rule, examples in report.get("examples", {}).items():
        write(f"  examples of {rule}:")
        for example in examples:
            write(f"    #{example['candidate']} {example['tail']!r}: {example['reason']}")


class Command(BaseCommand):
    help = "Print a filter run's report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", nargs="?", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        run = (
            selectors.filter_run_get(run_id=options["run"])
            if options["run"]
            else selectors.filter_run_list().filter(status=FilterRun.Status.SUCCEEDED).first()
        )
        if run is None:
            raise CommandError("No such filter run." if options["run"] else "No filter run has succeeded yet.")
        write_report(self.stdout.write, run)
