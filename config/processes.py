"""The production processes: the one table that ``plausi start`` runs, the Procfile lists and compose.yaml
starts (tests/config/test_deploy_files.py checks that those files say the same).

Plain Python (no Django): the launcher, the deployment files' test and a reader of this file need nothing else.
A command is an argument list whose items may hold ``${NAME:-default}``, filled in from the environment when the
process starts, as a shell, Procfile runners and Docker Compose do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# The commands of a deployment's one-off set-up (compose.yaml's `setup` service; `plausi start` runs it first).
SETUP_COMMAND = ("plausi", "start", "--setup-only")
DEFAULT_COMMAND = ("plausi", "start")  # the image's command: set-up, then every process (Dockerfile)
# What every process reads (config/settings/production.py refuses to start without the first four).
REQUIRED_ENV = ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS")
COMMON_ENV = (
    "DJANGO_SETTINGS_MODULE",
    *REQUIRED_ENV,
    "CSRF_TRUSTED_ORIGINS",
    "TRUSTED_PROXY_HOPS",
    "PLAUSI_VAR_DIR",
    "STATIC_ROOT",
    "PRIVATE_MEDIA_ROOT",
    "PLAUSI_MODEL_ROOT",
    "PLAUSI_FEATURE_ROOT",
    "LOG_LEVEL",
    "LOG_FORMAT",
)


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process: its name (the Procfile's and compose.yaml's), its command, the environment
    variables of its own that it reads (besides COMMON_ENV), whether ``plausi start`` runs it by default, and the
    signals it handles, which ``plausi start`` passes on to it (names such as ``"SIGHUP"``). Only those: a signal
    a process does not handle kills it (Python's default for SIGHUP, SIGUSR1 and SIGUSR2), and the launcher then
    stops the whole stack."""

    name: str
    command: tuple[str, ...]
    env: tuple[str, ...] = ()
    optional: bool = False
    signals: tuple[str, ...] = ()
    about: str = field(default="", compare=False)


PROCESSES: tuple[ProcessSpec, ...] = (
    ProcessSpec(
        "web",
        ("plausi-web",),
        env=(
            "PORT",
            "WEB_BIND",
            "WEB_CONCURRENCY",
            "WEB_THREADS",
            "WEB_SERVER",
            "WEB_STOP_TIMEOUT",
            "WEB_ACCESS_LOG",
            "METRICS_TOKEN",
        ),
        signals=("SIGHUP",),  # both servers replace their workers
        about="granian (or gunicorn: WEB_SERVER) serving the pages, the API and the static files (WhiteNoise)",
    ),
    ProcessSpec(
        "worker",
        (
            "celery",
            "-A",
            "config",
            "worker",
            "--queues",
            "${WORKER_QUEUES:-default,cpu}",
            "--concurrency",
            "${WORKER_CONCURRENCY:-2}",
            "--loglevel",
            "INFO",
        ),
        env=("WORKER_QUEUES", "WORKER_CONCURRENCY"),
        # Celery logs every thread's stack on SIGUSR1. Not SIGHUP: its restart re-executes
        # celery/__main__.py as a script, which fails under `python -m celery`, and the worker is gone.
        signals=("SIGUSR1",),
        about="Celery worker for the default and cpu queues",
    ),
    ProcessSpec(
        "gpuworker",
        (
            "celery",
            "-A",
            "config",
            "worker",
            "--queues",
            "gpu",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "--loglevel",
            "INFO",
        ),
        optional=True,
        signals=("SIGUSR1",),
        about="Celery worker for the gpu queue, one task at a time (plausi start --gpu)",
    ),
    ProcessSpec(
        "beat",
        ("celery", "-A", "config", "beat", "--loglevel", "INFO"),
        env=("CELERY_BEAT_SCHEDULE_FILENAME",),
        about="Celery beat: the sweeps, the retraining check, the outbox flush and file retention",
    ),
    ProcessSpec(
        "outbox",
        ("plausi", "outbox_relay"),
        about="the outbox relay: publishes task messages written while the broker was down",
    ),
)
PROCESS_NAMES = tuple(spec.name for spec in PROCESSES)

_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def expand(argument: str, environ: Mapping[str, str]) -> str:
    """``${NAME:-default}`` -> the variable's value, or the default when it is unset or empty (as a shell)."""
    return _VARIABLE.sub(lambda match: environ.get(match.group(1)) or (match.group(2) or ""), argument)


def variables(spec: ProcessSpec) -> set[str]:
    """The environment variables a process's command names."""
    return {match.group(1) for argument in spec.command for match in _VARIABLE.finditer(argument)}


def processes_select(*, only: list[str] | None = None, gpu: bool = False) -> list[ProcessSpec]:
    """The processes ``plausi start`` runs: those named, or every one that is not optional (the gpu worker too
    with ``gpu``), in table order."""
    if only:
        unknown = sorted(set(only) - set(PROCESS_NAMES))
        if unknown:
            raise ValueError(f"unknown process(es) {', '.join(unknown)}; known: {', '.join(PROCESS_NAMES)}")
        return [spec for spec in PROCESSES if spec.name in only]
    return [spec for spec in PROCESSES if not spec.optional or gpu]
