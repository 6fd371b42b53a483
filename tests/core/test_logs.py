"""``LOG_FORMAT=json``: one JSON object per line with time, level, logger, message, the request's or task's
context and the exception; the default stays human-readable. Real records are captured: from a request through
the middleware stack, from a task through Celery's tracer, and from a separate process started with the setting."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from config.celery import app as celery_app
from core.logs import LogContextFilter, logging_config
from tests.conftest import ROOT

CHILD = (
    "import django, logging; django.setup(); log = logging.getLogger('plausi.check')\n"
    "log.warning('hello %s', 'world')\n"
    "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('it broke')\n"
)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger also writes to a buffer, formatted and filtered as ``LOG_FORMAT=json`` configures it."""
    config = logging_config(log_format="json", level="INFO")
    formatter = logging.config.DictConfigurator(config).configure_formatter(dict(config["formatters"]["json"]))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_logs_json_with_its_request_id_and_path(json_lines: io.StringIO, settings: Any) -> None:
    settings.REQUEST_MAX_BODY_BYTES = 10
    response = Client().post("/login/", data="x" * 50, content_type="text/plain", HTTP_X_REQUEST_ID="req-42.a")
    assert response.status_code == 413
    assert response["X-Request-ID"] == "req-42.a"
    [record] = [r for r in records(json_lines) if r["logger"] == "core.middleware"]
    assert record["level"] == "WARNING"
    assert record["message"].startswith("refused a 50-byte body for /login/")
    assert record["request_id"] == "req-42.a" and record["path"] == "/login/" and record["method"] == "POST"
    assert record["time"][:2] == "20" and "T" in record["time"]


def test_a_request_without_a_sane_id_gets_a_new_one(settings: Any) -> None:
    settings.REQUEST_MAX_BODY_BYTES = 10
    response = Client().post("/login/", data="x" * 50, content_type="text/plain", HTTP_X_REQUEST_ID="a b\n<c>")
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"].isalnum()


def test_an_exception_is_logged_as_one_json_object_with_its_traceback(json_lines: io.StringIO) -> None:
    try:
        raise ValueError("the bad value")
    except ValueError:
        logging.getLogger("plausi.check").exception("it broke")
    [record] = records(json_lines)
    assert record["message"] == "it broke" and record["level"] == "ERROR"
    assert "Traceback" in record["exception"] and "ValueError: the bad value" in record["exception"]
    assert "request_id" not in record  # logged outside any request


@celery_app.task(name="tests.logs.say_hello")
def say_hello() -> None:
    logging.getLogger("plausi.check").info("hello from a task")


@pytest.mark.django_db
def test_a_task_logs_json_with_its_task_id_and_name(json_lines: io.StringIO) -> None:
    result = say_hello.apply()
    [record] = [r for r in records(json_lines) if r["message"] == "hello from a task"]
    assert record["task"] == "tests.logs.say_hello" and record["task_id"] == result.id
    logging.getLogger("plausi.check").info("after the task")
    assert "task_id" not in records(json_lines)[-1]  # the context ended with the task


def _run_child(log_format: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT)}
    env.pop("LOG_FORMAT", None)
    if log_format is not None:
        env["LOG_FORMAT"] = log_format
    return subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_log_format_json_makes_a_process_log_one_json_object_per_line() -> None:
    child = _run_child("json")
    assert child.returncode == 0, child.stderr
    lines = [json.loads(line) for line in child.stderr.splitlines() if line.strip()]
    assert [line["message"] for line in lines] == ["hello world", "it broke"]
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "plausi.check" and lines[0]["time"]
    assert "ZeroDivisionError" in lines[1]["exception"]


def test_the_default_log_format_is_plain_text_and_an_unknown_one_refuses_to_start() -> None:
    plain = _run_child(None)
    assert plain.returncode == 0, plain.stderr
    assert " WARNING plausi.check: hello world" in plain.stderr
    assert not plain.stderr.lstrip().startswith("{")
    unknown = _run_child("xml")
    assert unknown.returncode != 0 and "LOG_FORMAT must be 'plain' or 'json'" in unknown.stderr
