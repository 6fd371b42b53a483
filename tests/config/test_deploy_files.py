"""The deployment files say what `plausi start` runs: the Procfile, compose.yaml and the Dockerfile give each
process of config/processes.py the same command and the same environment variables (no image can be built here,
so the launcher, which tests/e2e/test_production_stack.py starts for real, is the one source of truth)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.processes import (
    COMMON_ENV,
    DEFAULT_COMMAND,
    PROCESS_NAMES,
    PROCESSES,
    SETUP_COMMAND,
    ProcessSpec,
    variables,
)

ROOT = Path(__file__).resolve().parents[2]
# Read by Django, Python or a container's base image, not by a settings module of ours.
NOT_OURS = {"DJANGO_SETTINGS_MODULE", "PYTHONUNBUFFERED"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def names_read_by_our_code() -> set[str]:
    """Environment variable names that config/ reads (settings through django-environ, gunicorn.py); a command
    reads its own `${NAME:-default}` variables."""
    source = "\n".join(path.read_text() for path in (ROOT / "config").rglob("*.py"))
    return set(re.findall(r"""(?:env\.\w+|environ\.get|Env\(\)\.str)\(\s*["']([A-Z_][A-Z0-9_]*)["']""", source))


def expected_env(spec: ProcessSpec) -> set[str]:
    return {*COMMON_ENV, *spec.env}


def test_every_variable_a_process_reads_is_one_the_code_reads() -> None:
    read = names_read_by_our_code()
    for spec in PROCESSES:
        unknown = expected_env(spec) - read - variables(spec) - NOT_OURS
        assert not unknown, f"{spec.name}: {sorted(unknown)} named in config/processes.py but read nowhere in config/"
        assert variables(spec) <= expected_env(spec), f"{spec.name}'s command names a variable it does not list"


def test_the_procfile_lists_the_launchers_processes_with_their_commands() -> None:
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    procfile = {name: shlex.split(command) for name, command in (line.split(":", 1) for line in lines)}
    assert procfile == {spec.name: list(spec.command) for spec in PROCESSES}


def test_compose_runs_each_process_with_the_launchers_command_and_environment() -> None:
    services = compose()["services"]
    for spec in PROCESSES:
        service = services[spec.name]
        assert service["command"] == list(spec.command), spec.name
        assert set(service["environment"]) == expected_env(spec), spec.name
        assert service["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}, spec.name
        assert ("gpu" in service.get("profiles", [])) == spec.optional, f"{spec.name}: optional <=> a profile"
    assert set(services) - {"db", "redis", "setup"} == set(PROCESS_NAMES)


def test_compose_sets_up_first_as_plausi_start_does() -> None:
    services = compose()["services"]
    setup = services["setup"]
    assert tuple(setup["command"]) == SETUP_COMMAND
    assert set(setup["environment"]) == set(COMMON_ENV)
    assert setup["depends_on"] == {name: {"condition": "service_healthy"} for name in ("db", "redis")}
    assert services["db"]["image"].startswith("postgres:") and services["redis"]["image"].startswith("redis:")
    # one volume holds the var folder (static files, private files, models, beat's schedule) for every process
    shared = {volume for name in (*PROCESS_NAMES, "setup") for volume in services[name]["volumes"]}
    assert shared == {"plausi-data:/var/lib/plausi"}
    paths = ("PLAUSI_VAR_DIR", "STATIC_ROOT", "PRIVATE_MEDIA_ROOT", "PLAUSI_MODEL_ROOT", "PLAUSI_FEATURE_ROOT")
    assert all(setup["environment"][name].startswith("/var/lib/plausi") for name in paths)


def test_the_image_runs_plausi_start_with_production_settings() -> None:
    instructions = dockerfile_instructions()
    commands = [json.loads(argument) for keyword, argument in instructions if keyword == "CMD"]
    assert commands[-1] == list(DEFAULT_COMMAND)
    assert not [keyword for keyword, _ in instructions if keyword == "ENTRYPOINT"]
    env: dict[str, str] = {}
    for keyword, argument in instructions:
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(argument))
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    known = {name for spec in PROCESSES for name in expected_env(spec)} | NOT_OURS
    assert set(env) <= known, f"the image sets {sorted(set(env) - known)}, which no process reads"
    # the same folders as compose.yaml's
    setup_env = compose()["services"]["setup"]["environment"]
    assert all(env[name] == setup_env[name] for name in ("PLAUSI_VAR_DIR", "STATIC_ROOT", "PRIVATE_MEDIA_ROOT"))


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"])
def test_compose_refuses_to_start_without_a_required_secret_or_address(name: str) -> None:
    """compose.yaml gives production's required variables from .env (`${NAME:?...}`) or from its own services."""
    value = compose()["services"]["setup"]["environment"][name]
    assert "${" + name + ":?" in value or "@db:" in value or "//redis:" in value
