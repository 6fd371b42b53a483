"""Runs a set of processes as one: starts them, forwards signals, and when one of them exits stops the others
and reports failure, so that a service manager (systemd, a container runtime) sees the stack die and restarts it
instead of a half-running stack. ``plausi start`` (core/management/commands/start.py) runs config/processes.py's
table with it; plain Python, no Django.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from config.processes import ProcessSpec, expand

# Programs of the table run with the launcher's own interpreter (`python -m ...`): the same environment whether
# or not the venv's bin folder is on PATH, and from a checkout where the `plausi` script is not installed.
_MODULES = {"plausi": "config.cli", "plausi-web": "config.web", "gunicorn": "gunicorn", "celery": "celery"}
FORWARDED_SIGNALS = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def command_argv(spec: ProcessSpec, environ: Mapping[str, str], *, python: str = sys.executable) -> list[str]:
    """The argument list that runs ``spec``: its variables filled in, its program run by ``python``."""
    argv = [expand(argument, environ) for argument in spec.command]
    module = _MODULES.get(argv[0])
    return [python, "-m", module, *argv[1:]] if module else argv


class Supervisor:
    """Starts every command, each in its own session (a terminal's Ctrl-C reaches only the supervisor, which
    stops the processes in order). SIGTERM or SIGINT stops them all: SIGTERM to each, SIGKILL to the process
    group of any still running after ``stop_timeout`` seconds. SIGHUP, SIGUSR1 and SIGUSR2 are passed on to the
    processes that ``signals`` names for them (``{name: {signal numbers}}``; config/processes.py's
    ``ProcessSpec.signals``: the web server reloads its workers on SIGHUP) and to no other, since a process that
    does not handle one dies of it; the launcher itself never dies of them. When a process exits on its own, the
    others are stopped and ``run`` returns 1: a stack that lost a part is never left running."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        signals: Mapping[str, Collection[int]] | None = None,
        cwd: str | Path | None = None,
        stop_timeout: float = 30.0,
        log: TextIO = sys.stderr,
    ) -> None:
        self.commands = dict(commands)
        self.env = dict(env if env is not None else os.environ)
        self.signals = {name: frozenset(numbers) for name, numbers in (signals or {}).items()}
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.log = log
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stop_requested: int | None = None

    def say(self, message: str) -> None:
        self.log.write(f"plausi start: {message}\n")
        self.log.flush()

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_requested = signum

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        receivers = [
            name
            for name, process in self.processes.items()
            if signum in self.signals.get(name, ()) and process.poll() is None
        ]
        for name in receivers:
            self.processes[name].send_signal(signum)
        self.say(f"{signal.Signals(signum).name} passed on to {', '.join(receivers) or 'no process (none handles it)'}")

    def run(self) -> int:
        previous = {signum: signal.getsignal(signum) for signum in (*STOP_SIGNALS, *FORWARDED_SIGNALS)}
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._request_stop)
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, self._forward)
        try:
            return self._run()
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _run(self) -> int:
        for name, argv in self.commands.items():
            if self._stop_requested is not None:
                break
            self.processes[name] = subprocess.Popen(list(argv), env=self.env, cwd=self.cwd, start_new_session=True)
            self.say(f"started {name} (pid {self.processes[name].pid}): {' '.join(argv)}")
        while self._stop_requested is None:
            for name, process in self.processes.items():
                code = process.poll()
                if code is not None:
                    self.say(f"{name} exited with code {code}; stopping the others")
                    return 1
            time.sleep(0.2)
        self.say(f"{signal.Signals(self._stop_requested).name} received; stopping")
        return 0

    def stop(self) -> None:
        """SIGTERM to every running process, then SIGKILL to the groups of those still running at the deadline."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop within {self.stop_timeout:.0f} s; killing it")
                with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # the process groups' leftovers (a worker's children whose parent was killed)
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
