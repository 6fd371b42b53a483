"""Fewer garbage collections while a run does bulk work in Python.

A filter run makes millions of small objects (a ``Facts`` per candidate, texts, frozensets) while it holds large
long-lived caches (a ``HeadFacts`` per head, normalised texts), and almost none of them are in reference cycles.
With CPython's default thresholds (700, 10, 10) the collector ran ~7,700 young and 18 full collections over a
million candidates, each full one walking every cached object, and freed fewer than 3,000 objects in all. Reading and
checking 1,000,000 benchmark candidates in one process took 40.7 and 43.7 s with the default thresholds, 33.3 and
33.3 s with ``BULK_GC_THRESHOLD`` (interleaved, on the 2-core machine; docs/filtering.md, "Fifth pass").

``collections_relaxed()`` raises the thresholds for the duration of the block. The thresholds are the
process's, so nested or concurrent blocks (threads of one worker) share one setting: the first to enter saves
the previous thresholds, the last to leave restores them. Cyclic garbage is still collected, only less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: young-generation allocations before a collection, then young and middle collections before the next generation's
BULK_GC_THRESHOLD = (50_000, 20, 100)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def collections_relaxed() -> Iterator[None]:
    """Run the block with ``BULK_GC_THRESHOLD`` (unless thresholds are already at least as relaxed)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            if _saved[0] != 0:  # 0: collection is off, which is more relaxed still; leave it
                gc.set_threshold(*(max(a, b) for a, b in zip(_saved, BULK_GC_THRESHOLD, strict=True)))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
