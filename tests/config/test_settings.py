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


def test_the_default_settings_are_the_embedded_demo() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local'); django.setup();"
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "PLAUSI_VAR_DIR": "/tmp/plausi-settings-test"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]
