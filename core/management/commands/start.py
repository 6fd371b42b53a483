"""``plausi start`` (``python manage.py start``): the production stack in one command.

Set-up first: ``migrate``, then ``collectstatic`` (hashed, compressed names that the web process serves itself
with WhiteNoise). Then it runs the processes of config/processes.py (the web server, the Celery worker for the
default and cpu queues, beat, the outbox relay; the gpu worker with ``--gpu``) and supervises them
(config/launcher.py): SIGHUP, SIGUSR1 and SIGUSR2 are passed on to the processes that handle them
(``ProcessSpec.signals``), and when one process exits the others are stopped and the command exits non-zero.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from config.launcher import Supervisor, command_argv
from config.processes import PROCESS_NAMES, processes_select


class Command(BaseCommand):
    help = (
        "Migrate, collect the static files, then run and supervise the production processes "
        f"({', '.join(PROCESS_NAMES)}; gpuworker only with --gpu)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--gpu", action="store_true", help="Also run the gpu queue's worker (gpuworker).")
        parser.add_argument(
            "--only",
            action="append",
            metavar="NAME",
            help=f"Run only this process (repeatable): {', '.join(PROCESS_NAMES)}.",
        )
        setup = parser.add_mutually_exclusive_group()
        setup.add_argument(
            "--no-setup",
            action="store_true",
            help="Skip migrate and collectstatic (a second host: one host of a deployment runs them).",
        )
        setup.add_argument("--setup-only", action="store_true", help="Run migrate and collectstatic, then exit.")
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=30.0,
            help="Seconds each process gets to stop (finish its requests and tasks) before it is killed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            specs = processes_select(only=options["only"], gpu=options["gpu"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if not options["no_setup"]:
            self.setup()
        if options["setup_only"]:
            return
        connections.close_all()  # the children open their own; nothing here uses the database any more
        environ = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
        commands = {spec.name: command_argv(spec, environ) for spec in specs}
        signals = {spec.name: {signal.Signals[name] for name in spec.signals} for spec in specs}
        supervisor = Supervisor(
            commands, env=environ, signals=signals, stop_timeout=options["stop_timeout"], log=sys.stderr
        )
        code = supervisor.run()
        if code:
            raise CommandError("a process of the stack exited; every other one was stopped", returncode=code)

    def setup(self) -> None:
        for folder in (Path(settings.VAR_DIR), Path(settings.PRIVATE_MEDIA_ROOT)):
            folder.mkdir(parents=True, exist_ok=True)
        self.stdout.write("plausi start: migrating the database", ending="\n")
        call_command("migrate", interactive=False, verbosity=1)
        self.stdout.write(f"plausi start: collecting the static files into {settings.STATIC_ROOT}")
        call_command("collectstatic", interactive=False, verbosity=1)
        self.stdout.flush()
