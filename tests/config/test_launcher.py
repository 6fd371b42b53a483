"""The launcher's supervision (config/launcher.py) with real processes: signals are passed on, a process that
dies takes the stack down with a non-zero exit, a process that ignores SIGTERM is killed at the deadline. The
whole production stack under `plausi start` is tests/e2e/test_production_stack.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config.launcher import Supervisor, command_argv
from config.processes import PROCESSES, processes_select

ROOT = Path(__file__).resolve().parents[2]

# A child that records the signals it gets in a file, and exits on SIGTERM (or ignores it, with "stubborn").
CHILD = textwrap.dedent(
    """
    import signal, sys, time
    log = open(sys.argv[1], "a", buffering=1)
    def record(signum, frame):
        log.write(signal.Signals(signum).name + "\\n")
        if signum == signal.SIGTERM and sys.argv[2] != "stubborn":
            sys.exit(0)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, record)
    log.write("started\\n")
    time.sleep(float(sys.argv[3]))
    """
)


def child(tmp_path: Path, name: str, *, mode: str = "polite", lifetime: float = 60) -> list[str]:
    return [sys.executable, "-c", CHILD, str(tmp_path / f"{name}.log"), mode, str(lifetime)]


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_when_one_process_exits_the_others_are_stopped_and_the_launcher_fails(tmp_path: Path) -> None:
    supervisor = Supervisor(
        {"a": child(tmp_path, "a"), "short": child(tmp_path, "short", lifetime=0.5), "b": child(tmp_path, "b")},
        stop_timeout=10,
        log=open(os.devnull, "w"),  # noqa: SIM115
    )
    started = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - started < 8
    for name in ("a", "b"):
        assert (tmp_path / f"{name}.log").read_text().split() == ["started", "SIGTERM"]
        assert supervisor.processes[name].returncode == 0


def run_launcher(
    tmp_path: Path, names: dict[str, str], stop_timeout: float = 10, signals: dict[str, set[int]] | None = None
) -> subprocess.Popen[bytes]:
    commands = {name: child(tmp_path, name, mode=mode) for name, mode in names.items()}
    numbers = {name: sorted(int(signum) for signum in signums) for name, signums in (signals or {}).items()}
    script = (
        "import sys; from config.launcher import Supervisor; "
        f"sys.exit(Supervisor({commands!r}, signals={numbers!r}, stop_timeout={stop_timeout}).run())"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE)
    assert wait_for(lambda: all((tmp_path / f"{name}.log").exists() for name in names)), "children did not start"
    assert wait_for(lambda: all("started" in (tmp_path / f"{name}.log").read_text() for name in names))
    return process


def test_sighup_goes_only_to_the_processes_that_handle_it_and_sigterm_stops_every_process_with_success(
    tmp_path: Path,
) -> None:
    launcher = run_launcher(
        tmp_path,
        {"web": "polite", "worker": "polite", "beat": "polite"},
        signals={"web": {signal.SIGHUP}, "worker": {signal.SIGUSR1}},
    )
    launcher.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "SIGHUP" in (tmp_path / "web.log").read_text())
    # SIGUSR2 is nobody's: the launcher takes it without passing it on (the children would die of it)
    launcher.send_signal(signal.SIGUSR2)
    time.sleep(0.5)
    assert launcher.poll() is None
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=15) == 0
    assert (tmp_path / "web.log").read_text().split() == ["started", "SIGHUP", "SIGTERM"]
    for name in ("worker", "beat"):  # they record a SIGHUP they get; a SIGUSR2 would have killed them
        assert (tmp_path / f"{name}.log").read_text().split() == ["started", "SIGTERM"]
    log = launcher.stderr.read().decode()
    assert "SIGHUP passed on to web\n" in log
    assert "SIGUSR2 passed on to no process" in log
    assert "SIGTERM received; stopping" in log
    assert "exited" not in log


def test_the_table_passes_on_only_signals_its_processes_handle() -> None:
    """The web server reloads its workers on SIGHUP, a Celery worker logs its threads' stacks on SIGUSR1; beat and
    the outbox relay handle neither and would die, and Celery's SIGHUP restart fails under `python -m celery`."""
    handled = {spec.name: set(spec.signals) for spec in PROCESSES}
    assert handled == {
        "web": {"SIGHUP"},
        "worker": {"SIGUSR1"},
        "gpuworker": {"SIGUSR1"},
        "beat": set(),
        "outbox": set(),
    }
    assert all(signal.Signals[name] for names in handled.values() for name in names)


def test_a_process_that_ignores_sigterm_is_killed_at_the_deadline(tmp_path: Path) -> None:
    launcher = run_launcher(tmp_path, {"polite": "polite", "stubborn": "stubborn"}, stop_timeout=1.5)
    started = time.monotonic()
    launcher.send_signal(signal.SIGINT)  # Ctrl-C
    assert launcher.wait(timeout=15) == 0
    assert 1.4 < time.monotonic() - started < 10
    assert "killing it" in launcher.stderr.read().decode()
    assert (tmp_path / "stubborn.log").read_text().split() == ["started", "SIGTERM"]


def test_commands_fill_in_their_variables_and_run_with_the_launchers_python() -> None:
    worker = next(spec for spec in PROCESSES if spec.name == "worker")
    argv = command_argv(worker, {"WORKER_CONCURRENCY": "7"}, python="/opt/py")
    assert argv[:3] == ["/opt/py", "-m", "celery"]
    assert argv[argv.index("--concurrency") + 1] == "7"
    assert argv[argv.index("--queues") + 1] == "default,cpu"  # unset: the default
    outbox = next(spec for spec in PROCESSES if spec.name == "outbox")
    assert command_argv(outbox, {}, python="/opt/py") == ["/opt/py", "-m", "config.cli", "outbox_relay"]


def test_the_gpu_worker_runs_only_when_asked() -> None:
    assert [spec.name for spec in processes_select()] == ["web", "worker", "beat", "outbox"]
    assert "gpuworker" in [spec.name for spec in processes_select(gpu=True)]
    assert [spec.name for spec in processes_select(only=["beat", "web"])] == ["web", "beat"]
    with pytest.raises(ValueError, match="unknown process"):
        processes_select(only=["webb"])
