"""The demo's file-system broker (core/broker_filesystem.py): a message is visible to a worker only once it is
written in full, so a worker polling the folder while the web server or beat writes never reads half a message
(kombu's stock transport let it, and the demo's worker stopped on the JSONDecodeError)."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

import core.broker_filesystem
from config.settings.base import FILESYSTEM_BROKER_TRANSPORT, filesystem_broker_options
from core.broker_filesystem import PARTIAL_SUFFIX


def _connection(folder: Path, transport: str = FILESYSTEM_BROKER_TRANSPORT) -> Connection:
    """A connection as the demo's settings make it, its queue in ``folder / "queue"``."""
    return Connection("filesystem://", transport=transport, transport_options=filesystem_broker_options(folder))


def test_a_message_being_written_is_invisible_to_readers_until_it_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_while_writing: list[Any] = []
    rename = os.replace

    with _connection(tmp_path) as writer, _connection(tmp_path) as reader:
        inbox = reader.SimpleQueue("work")

        def replace_after_a_look(source: str, target: str) -> None:
            # the whole payload is on disk under its partial name: a reader polling now must find nothing
            seen_while_writing.append(sorted(os.listdir(tmp_path / "queue")))
            with pytest.raises(inbox.Empty):
                inbox.get(block=False)
            rename(source, target)

        monkeypatch.setattr(core.broker_filesystem.os, "replace", replace_after_a_look)
        writer.SimpleQueue("work").put({"text": "x" * 100_000})
        monkeypatch.undo()

        assert len(seen_while_writing) == 1 and len(seen_while_writing[0]) == 1
        assert seen_while_writing[0][0].endswith(".work.msg" + PARTIAL_SUFFIX)
        message = inbox.get(timeout=5)
        assert message.payload == {"text": "x" * 100_000}
        message.ack()
        assert os.listdir(tmp_path / "queue") == []
        inbox.close()


def _produce(folder: str, count: int, size: int) -> None:
    with _connection(Path(folder)) as connection:
        queue = connection.SimpleQueue("work")
        for number in range(count):
            queue.put({"number": number, "text": str(number % 10) * size})
        queue.close()


def test_a_reader_polling_while_another_process_writes_gets_every_message_whole(tmp_path: Path) -> None:
    count, size = 60, 400_000  # large messages: a long write, so a polling reader would often catch one half-written
    producer = multiprocessing.get_context("spawn").Process(target=_produce, args=(str(tmp_path), count, size))
    producer.start()
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    try:
        with _connection(tmp_path) as connection:
            queue = connection.SimpleQueue("work")
            while len(received) < count:  # a busy poll, as a worker's would be at the wrong moment
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    assert time.monotonic() < deadline, f"{len(received)} of {count} messages in 60 s"
                    continue
                received.append(message.payload)
                message.ack()
            queue.close()
    finally:
        producer.join(timeout=60)
    assert producer.exitcode == 0
    assert sorted(payload["number"] for payload in received) == list(range(count))
    assert all(payload["text"] == str(payload["number"] % 10) * size for payload in received)
