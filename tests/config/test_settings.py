"""Settings: the effective Celery configuration, production's refusals and `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k8Jx2vQ9mN4pL7rT1wY6zB3cF5hD0gS8aE2uI9oP4lK7jH1nM6bV3cX5zQ8wR2tY",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/plausi",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "plausi.example.com",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in GOOD_PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_effective_celery_configuration_is_what_the_settings_mean() -> None:
    from config.celery import app

    app.loader.import_default_modules()  # what a worker does at start: discover every app's tasks
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_ignore_result is True
    assert conf.task_time_limit == 3600 and conf.task_soft_time_limit == 3300
    assert {queue.name for queue in conf.task_queues} == {"default", "cpu", "gpu"}
    assert conf.task_default_queue == "default"
    assert conf.broker_url.startswith("redis://")
    assert "knowledge.ingest_run_execute" in app.tasks
    route = app.amqp.router.route({}, "knowledge.ingest_run_execute")
    assert route["queue"].name == "default"


def test_production_settings_pass_check_deploy() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD_PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "plausi-local-demo-only-not-secret"}, "SECRET_KEY"),
        ({"DEBUG": "true"}, "DEBUG"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": ""}, "CELERY_BROKER_URL"),
    ],
)
def test_production_settings_refuse_to_start_with_defaults(override: dict[str, str], message: str) -> None:
    result = run_manage("check", env={**GOOD_PRODUCTION_ENV, **override})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def example_env() -> dict[str, str]:
    """The variables of .env.example, as a deployment that copied it unchanged would have them."""
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.lstrip().startswith("#")}


def test_check_deploy_refuses_the_example_secret_key() -> None:
    env = example_env()
    assert env["SECRET_KEY"].startswith("change-me") and len(env["SECRET_KEY"]) >= 50  # it passed the old check
    result = run_manage("check", "--deploy", env={**GOOD_PRODUCTION_ENV, "SECRET_KEY": env["SECRET_KEY"]})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "key", ["CHANGE-ME-" + "x1y2z3a4b5c6d7e8f9g0" * 3, "django-insecure-" + "k8Jx2vQ9mN4pL7rT" * 3]
)
def test_production_refuses_any_placeholder_key(key: str) -> None:
    result = run_manage("check", env={**GOOD_PRODUCTION_ENV, "SECRET_KEY": key})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def _without_settings_module() -> dict[str, str]:
    unset = {"DJANGO_SETTINGS_MODULE", *GOOD_PRODUCTION_ENV}
    return {key: value for key, value in os.environ.items() if key not in unset}


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "manage.py", "check"],
        # a worker's start: the Celery app loads Django's settings
        [sys.executable, "-c", "from config.celery import app; app.loader.import_default_modules()"],
    ],
    ids=["manage.py", "celery"],
)
def test_without_a_settings_module_everything_defaults_to_production_and_refuses_to_start(command: list[str]) -> None:
    """A worker or a command started without DJANGO_SETTINGS_MODULE used to run the demo (SQLite, DEBUG on)."""
    result = subprocess.run(
        command, cwd=ROOT, env=_without_settings_module(), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "config.settings.local" in result.stderr


def test_the_embedded_demo_is_one_setting_away() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **_without_settings_module(),
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "PLAUSI_VAR_DIR": "/tmp/plausi-settings-test",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True"]


def test_gunicorn_binds_to_loopback_unless_told_otherwise() -> None:
    """Production trusts X-Forwarded-Proto (and TRUSTED_PROXY_HOPS): only the proxy in front may reach gunicorn."""
    code = "import config.gunicorn as g; print(g.bind)"
    env = {key: value for key, value in os.environ.items() if key not in ("WEB_BIND", "PORT")}
    default = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert default.stdout.strip() == "127.0.0.1:8000"
    told = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "WEB_BIND": "unix:/run/plausi/web.sock"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert told.stdout.strip() == "unix:/run/plausi/web.sock"
