"""`make demo` as a new user runs it, processes and all: ``manage.py demo`` in a fresh folder sets up the embedded
default (SQLite, the file-system broker, the demo data and accounts), then starts the web server and the worker
(with beat) as child processes. Over HTTP, with the accounts it printed: an annotator answers a question through
the API; an admin asks for a filter run, which only the worker executes (a task through the file-system broker),
and the run record reaches ``succeeded``. Ctrl-C (SIGINT) then stops the demo and both of its processes.

tests/knowledge/test_demo_setup.py checks the setup step's data in detail; tests/demo/test_demo_smoke.py the
pages. This test is what neither does: the demo's own processes working together.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil

from tests.conftest import free_port, wait_until
from tests.knowledge.test_demo_setup import demo_env

ROOT = Path(__file__).resolve().parents[2]
SETUP_SECONDS = 240  # migrate, ingest, filter and queue the demo set (~30-60 s here)
READY_SECONDS = 60
RUN_SECONDS = 120  # the worker's start (it imports the project) and the filter run


def _read_until(process: subprocess.Popen[str], pattern: str, seconds: float) -> str:
    """The demo's output up to and including the first line that matches ``pattern``."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=0.5):
                if process.poll() is not None:
                    break
                continue
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if re.search(pattern, line):
                return "".join(lines)
    raise AssertionError(f"the demo never printed {pattern!r}; its output:\n{''.join(lines)}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _token(base: str, username: str, password: str) -> str:
    response = httpx.post(f"{base}/api/auth/token/", json={"username": username, "password": password}, timeout=10)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["token"])


def test_the_demo_serves_the_api_and_its_worker_runs_tasks_until_ctrl_c(tmp_path: Path) -> None:
    env = {**demo_env(tmp_path), "PYTHONUNBUFFERED": "1"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the worker's log; the assertions say what went wrong
        text=True,
        start_new_session=True,
    )
    children: list[psutil.Process] = []
    try:
        output = _read_until(demo, r"Plausi is running at", SETUP_SECONDS)
        accounts = {
            role: (username, password)
            for role, username, password in re.findall(r"^\s+(annotator|curator|admin)\s+(\S+)\s+(\S+)$", output, re.M)
        }
        assert set(accounts) == {"annotator", "curator", "admin"}, output

        assert wait_until(lambda: _answers(f"{base}/healthz/live"), timeout=READY_SECONDS, interval=0.3), (
            "the demo's web server never answered"
        )

        annotator = {"Authorization": f"Token {_token(base, *accounts['annotator'])}"}
        step = httpx.get(f"{base}/api/annotation/next", headers=annotator, timeout=10)
        assert step.status_code == 200, step.text
        question = step.json()["step"]
        assert question is not None, step.text  # the demo's queue is full
        answer = httpx.post(
            f"{base}/api/annotation/answers",
            headers=annotator,
            json={
                "assignment": question["assignment"],
                "question": question["question"]["slug"],
                "value": True,
                "idempotency_key": str(uuid.uuid4()),
                "seconds": 2.5,
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text

        admin = {"Authorization": f"Token {_token(base, *accounts['admin'])}"}
        started = httpx.post(f"{base}/api/filter-runs/", headers=admin, json={}, timeout=10)
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + RUN_SECONDS
        while True:
            run = httpx.get(f"{base}/api/filter-runs/{run_id}/", headers=admin, timeout=10).json()
            summary = {key: run[key] for key in ("id", "status", "attempts", "message", "error")}
            if run["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, f"the worker never finished the filter run: {summary}"
            assert demo.poll() is None, "the demo stopped while the run waited"
            time.sleep(1.0)
        assert run["status"] == "succeeded", summary
        assert run["attempts"] == 1, summary  # claimed once, by the worker: the web process runs no task

        children += psutil.Process(demo.pid).children(recursive=True)
        assert len(children) >= 2  # the web server and the worker
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"left running after Ctrl-C: {[process.cmdline() for process in alive]}"
        assert "Stopped." in (demo.stdout.read() if demo.stdout else "")
    finally:
        _stop_everything(demo, children)


def _stop_everything(demo: subprocess.Popen[str], seen: list[psutil.Process]) -> None:
    """Whatever an assertion left running: the demo and its processes (``seen``, and any it still has). Each was
    started in a session of its own, so killing the demo's process group would leave them behind."""
    family = list(seen)
    if demo.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            family += [psutil.Process(demo.pid), *psutil.Process(demo.pid).children(recursive=True)]
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(family, timeout=10)
    if demo.poll() is None:
        demo.wait()
