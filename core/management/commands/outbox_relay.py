"""``python manage.py outbox_relay``: publish the outbox's pending task messages (those written while the broker
was down), every second until stopped; ``--once`` publishes what is pending and exits."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from core.outbox import outbox_send


class Command(BaseCommand):
    help = "Publish pending outbox messages to the broker (run it as its own process in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        if not options["once"]:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        while True:
            close_old_connections()  # survive a database restart
            try:
                sent = outbox_send()
            except Exception as exc:  # the database is unreachable for a moment: try again next tick
                self.stderr.write(f"outbox relay: {type(exc).__name__}: {exc}")
                sent = 0
            if sent:
                self.stdout.write(f"published {sent} message(s)")
            if options["once"] or stopping:
                return
            time.sleep(options["interval"] if not sent else 0)
