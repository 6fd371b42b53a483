"""docs/recipes.md cannot rot: every ``python`` block of it runs, in order, as its own script, against a live server
and a real Celery worker (PLAUSI_URL, PLAUSI_TOKEN; PLAUSI_MANAGE for the simulated annotators)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import ROOT, child_database_url
from tests.factories import UserFactory, api_key_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RECIPES = ROOT / "docs" / "recipes.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def test_the_recipes_page_has_the_whole_loop() -> None:
    blocks = python_blocks(RECIPES.read_text())
    assert len(blocks) >= 4
    loop = next(block for block in blocks if "download_export" in block)
    for step in ("upload", "start_filter", "simulate_annotators", "start_training", "start_scoring", "audit"):
        assert step in loop, step


def test_every_recipe_runs_against_a_live_server(celery_worker_process: Any, live_server: Any, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PLAUSI_URL": live_server.url,
        "PLAUSI_TOKEN": api_key_for(UserFactory(role="admin", username="recipes-admin")),
        "PLAUSI_MANAGE": str(ROOT / "manage.py"),
        # for manage.py simulate_annotators: the test database and broker, as the worker has them
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": child_database_url(),
        "TEST_CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    started = time.monotonic()
    for number, block in enumerate(python_blocks(RECIPES.read_text()), start=1):
        script = tmp_path / f"recipe_{number}.py"
        script.write_text(block)
        done = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"recipe {number} failed:\n{done.stdout}\n{done.stderr}"
        print(f"--- recipe {number} ({time.monotonic() - started:.1f} s)\n{done.stdout}")
    output = done.stdout  # the last block lists what the loop made
    assert "approved" in output or "precision" in output
