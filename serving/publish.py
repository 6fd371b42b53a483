"""Publishing the cache's generation messages off the request thread.

A miss writes its outbox message in the claim's transaction (core.outbox: durable, committed with the claim) and,
once committed, hands the message's id to this process's publisher thread, which calls ``outbox_send`` for the ids
it has gathered. The request answers without waiting for the broker (a Celery publish costs milliseconds of the
web worker's time); a message the thread could not publish (the broker is down, the process died) stays pending in
the outbox and the relay publishes it (``outbox_relay``, the beat's ``core.outbox_flush``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading

logger = logging.getLogger(__name__)

_queue: queue.SimpleQueue[int] = queue.SimpleQueue()
_started: dict[int, threading.Thread] = {}  # by process id: a forked process starts its own thread
_lock = threading.Lock()


def _run() -> None:
    from django.db import connection

    from core import outbox

    while True:
        ids = [_queue.get()]
        while len(ids) < 500:
            try:
                ids.append(_queue.get_nowait())
            except queue.Empty:
                break
        try:
            outbox.outbox_send(message_ids=ids)
        except Exception:  # the relay publishes what is left pending
            logger.exception("serving: publishing %s generation message(s) failed; the outbox relay will", len(ids))
        finally:
            connection.close()


def publish_later(message_id: int) -> None:
    """Publish an outbox message (already committed) from this process's publisher thread."""
    pid = os.getpid()
    if pid not in _started:
        with _lock:
            if pid not in _started:
                thread = threading.Thread(target=_run, name="serving-publisher", daemon=True)
                thread.start()
                _started[pid] = thread
    _queue.put(message_id)
