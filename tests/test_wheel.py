"""The built wheel is the whole product: built from a copy of the checkout, installed into a fresh venv (its
dependencies from this environment, no network) and run from a folder outside the checkout with no PYTHONPATH,
its `plausi` command sets the demo up (migrations, demo data), renders pages from the templates it carries and
collects the static files it carries under the production settings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.config.test_settings import GOOD_PRODUCTION_ENV

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "node_modules", "test-artifacts", "*.egg-info", "__pycache__", "tests"
)
# Run inside the installed package: a page rendered by the test client, and where its templates came from.
RENDER_PAGES = """
import django, json
django.setup()
from django.contrib.auth import get_user_model
from django.template.loader import get_template
from django.test import Client
import config
client = Client(SERVER_NAME="localhost")
pages = {"/login/": client.get("/login/")}
client.force_login(get_user_model().objects.get(username="admin"))
pages.update({path: client.get(path) for path in ("/", "/dashboard/", "/graph/", "/exports/")})
print(json.dumps({
    "package": config.__file__,
    "status": {path: response.status_code for path, response in pages.items()},
    "stylesheet": 'rel="stylesheet" href="/static/css/plausi.css"' in pages["/"].content.decode(),
    "template": get_template("base.html").origin.name,
}))
"""


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_the_installed_wheel_sets_up_the_demo_and_finds_its_templates_and_static_files(tmp_path: Path) -> None:
    source, wheels, venv, elsewhere = (tmp_path / name for name in ("source", "wheels", "venv", "run"))
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # what a fresh clone holds, no stale build/ folder
    clean = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", *GOOD_PRODUCTION_ENV}}
    clean = {key: value for key, value in clean.items() if not key.startswith(("PLAUSI_", "STATIC_", "PRIVATE_"))}
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), "."],
        cwd=source,
        env=clean,
    )
    (wheel,) = wheels.glob("plausi-*.whl")
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path, env=clean)
    python = venv / "bin" / "python"
    # the dependencies of this environment (a venv's site-packages are not the "system" ones of a venv made from
    # it); a plain path line: the .pth files there (this checkout's editable install) are not run
    site = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path, env=clean
        ).strip()
    )
    (site / "plausi-dependencies.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n")
    run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], cwd=tmp_path, env=clean)
    elsewhere.mkdir()
    plausi = str(venv / "bin" / "plausi")

    output = run([plausi, "demo", "--setup-only"], cwd=elsewhere, env=clean, timeout=150)
    assert "Demo accounts" in output and "admin" in output
    assert (elsewhere / "var" / "plausi.sqlite3").is_file()  # the installed product's files: ./var, not site-packages

    rendered = json.loads(
        run(
            [str(python), "-c", RENDER_PAGES],
            cwd=elsewhere,
            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        )
    )
    assert rendered["package"].startswith(str(site)), rendered
    assert rendered["template"].startswith(str(site / "config" / "templates")), rendered
    assert set(rendered["status"].values()) == {200}, rendered
    assert rendered["stylesheet"], rendered

    production = {**clean, **GOOD_PRODUCTION_ENV, "STATIC_ROOT": str(elsewhere / "static")}
    run([plausi, "check", "--deploy", "--fail-level", "WARNING"], cwd=elsewhere, env=production)
    run([plausi, "collectstatic", "--noinput", "-v", "0"], cwd=elsewhere, env=production)
    manifest = json.loads((elsewhere / "static" / "staticfiles.json").read_text())["paths"]
    for name in ("css/plausi.css", "js/annotate.js", "vendor/cytoscape/cytoscape.min.js", "admin/css/base.css"):
        assert (elsewhere / "static" / f"{manifest[name]}.gz").is_file(), name
    assert "start" in run([plausi, "help"], cwd=elsewhere, env=production)
