"""``python manage.py annotation_queue``: queue the pooled candidates and recompute every priority."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from annotation.priorities import queue_priorities_recompute
from annotation.services import queue_fill


class Command(BaseCommand):
    help = "Add pooled candidates to the annotation queue and recompute the priorities in bulk."

    def handle(self, *args: Any, **options: Any) -> None:
        added = queue_fill()
        updated = queue_priorities_recompute()
        self.stdout.write(f"{added} candidate(s) queued; priorities recomputed for {updated} open item(s).")
