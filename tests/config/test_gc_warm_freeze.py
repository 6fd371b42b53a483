"""The web workers' collect-and-freeze after their first requests (config/gc_warm_freeze.py, config/gunicorn.py)."""

from __future__ import annotations

import gc
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterator

import httpx
import pytest

from config.gc_warm_freeze import FreezeAfterRequests, request_counts
from tests.conftest import ROOT, free_port, process_stop, wait_until, web_spawn


class _Node:
    """A weak-referenceable object that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.partner: _Node | None = None


@pytest.fixture
def frozen_restored() -> Iterator[None]:
    """Only the policy collects during the test (automatic collection is off); afterwards the test process's
    collector is as it was, anything the test froze given back to it."""
    before = gc.get_freeze_count()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() != before:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def test_objects_alive_at_a_due_count_leave_the_collector_and_garbage_before_it_is_freed(frozen_restored: None):
    freezes: list[tuple[int, float, int]] = []
    policy = FreezeAfterRequests(after_requests=[3, 5], report=lambda *args: freezes.append(args))
    long_lived = []
    for _ in range(20_000):
        node = _Node()
        node.partner = node
        long_lived.append(node)
    garbage = _Node()
    garbage.partner = _Node()
    garbage.partner.partner = garbage
    garbage_ref = weakref.ref(garbage)
    del garbage

    policy.request_served()
    policy.request_served()
    assert freezes == []
    assert garbage_ref() is not None

    frozen_before = gc.get_freeze_count()
    policy.request_served()

    assert [served for served, _ms, _frozen in freezes] == [3]
    assert garbage_ref() is None, "the cycle that was garbage at the freeze is collected, not frozen"
    assert gc.get_freeze_count() >= frozen_before + len(long_lived)
    tracked = {id(obj) for obj in gc.get_objects()}
    assert id(long_lived[0]) not in tracked and id(long_lived[-1]) not in tracked
    assert policy.pending == [5]


def test_each_due_count_freezes_once_however_many_threads_serve_requests(frozen_restored: None):
    freezes: list[int] = []
    policy = FreezeAfterRequests(
        after_requests=[10_000, 100, 4_000, 100], report=lambda served, _ms, _frozen: freezes.append(served)
    )

    def serve() -> None:
        for _ in range(1_000):
            policy.request_served()

    threads = [threading.Thread(target=serve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert freezes == [100, 4_000]
    assert policy.pending == [10_000]


def test_the_request_counts_setting_names_a_bad_value():
    assert request_counts("100, 1000,10000") == [100, 1000, 10000]
    assert request_counts("") == []
    with pytest.raises(ValueError, match="'1e3' is not a request count"):
        request_counts("100,1e3")


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_web_worker_freezes_after_the_configured_requests(server: str) -> None:
    port = free_port()
    log_name = f"test-gc-freeze-{uuid.uuid4().hex[:8]}-web.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "WEB_GC_FREEZE_AFTER_REQUESTS": "5,12",
    }
    web = web_spawn({**env, "LOG_LEVEL": "INFO"}, port, log_name, server=server)
    log = ROOT / "var" / log_name
    try:
        served = 0
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while served < 15 and time.monotonic() < deadline:
                try:
                    client.get("/api/schema-does-not-exist")
                    served += 1
                except httpx.TransportError:
                    time.sleep(0.2)
        assert served == 15, log.read_text()
        wait_until(lambda: log.read_text().count("gc: froze") >= 2, timeout=10)
    finally:
        process_stop(web)
    lines = [line for line in log.read_text().splitlines() if "gc: froze" in line]
    assert [line.split("after ")[1].split(" requests")[0] for line in lines] == ["5", "12"], log.read_text()
