"""Freeze a web worker's long-lived objects out of the garbage collector once its first requests have made them.

A full collection walks every object the collector tracks, and pauses every thread of the worker while it does.
``gc.freeze()`` at start-up (config/web_process.py) removes what loading the application made, but the first
requests make ~29,000 more that live as long as the worker: the URL map and the view, serializer and service
modules it imports, DRF's settings, database connections and their prepared statements. Every full collection
walked them: 4-11 ms of CPU in-process, 10-66 ms of wall time under load; after one more collect-and-freeze once
those requests were served, under 0.1 ms (benchmarks/annotation_gc.py, docs/annotation.md). Steady-state
requests add nothing long-lived, so a few freezes early in a worker's life are enough.

Trade-off: an object frozen while reachable and unreachable later only through a reference cycle is never
freed (a replaced database connection, say): a bounded, small leak, against pauses that grow with the heap.
Pure Python, no Django: the web workers call it (config/web_process.py).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable


class FreezeAfterRequests:
    """Collects and freezes once a worker has served each of ``after_requests`` requests (e.g. 100, 1000, 10000).

    ``request_served`` is called by every request thread after its response; thread-safe. ``report`` receives
    (requests served, pause in ms, objects frozen in all) after each freeze.
    """

    def __init__(self, *, after_requests: Iterable[int], report: Callable[[int, float, int], None] | None = None):
        self._due = sorted({count for count in after_requests if count > 0})
        self._served = 0
        self._lock = threading.Lock()
        self._report = report

    @property
    def pending(self) -> list[int]:
        """The request counts at which a freeze is still to come."""
        return list(self._due)

    def request_served(self) -> None:
        with self._lock:
            self._served += 1
            if not self._due or self._served < self._due[0]:
                return
            while self._due and self._due[0] <= self._served:
                self._due.pop(0)
            # Under the lock: a collection pauses every thread anyway, and no second freeze can start meanwhile.
            started = time.perf_counter()
            gc.collect()
            gc.freeze()
            paused_ms = (time.perf_counter() - started) * 1000
            served = self._served
        if self._report is not None:
            self._report(served, paused_ms, gc.get_freeze_count())


def request_counts(text: str) -> list[int]:
    """``"100,1000,10000"`` -> [100, 1000, 10000]; empty: none (the freeze after requests is off)."""
    counts = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"WEB_GC_FREEZE_AFTER_REQUESTS: {part!r} is not a request count (e.g. 100,1000,10000)")
        counts.append(int(part))
    return counts
