"""``manage.py serving_rebuild``: rebuild the feature store from the accepted graph (a new full snapshot)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm


class Command(BaseCommand):
    help = "Rebuild the serving feature store from the accepted graph as one new snapshot."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        from serving.services import serving_store_rebuild

        bar = tqdm(unit=" keys", disable=options["no_progress"], file=self.stderr._out)
        done = 0

        def progress(written: int) -> None:
            nonlocal done
            bar.update(written - done)
            done = written

        snapshot = serving_store_rebuild(progress=progress)
        bar.close()
        self.stdout.write(
            f"snapshot {snapshot.pk}: {snapshot.keys_changed} keys, {snapshot.edges} edge entries, "
            f"{snapshot.keys_removed} keys removed, {snapshot.timings.get('total_s')} s"
        )
