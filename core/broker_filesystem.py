"""kombu's file-system transport with atomic message writes: the embedded demo's Celery broker.

kombu's own ``filesystem`` transport (5.x) creates a message's file in the queue folder and then writes it; a
worker polling that folder may move and read the file in between (the writer's lock is advisory and the reader
does not take it), get an empty or partial payload, and stop with "Unrecoverable error: JSONDecodeError". The
demo's web server, beat and worker are separate processes sharing the folder, so this happened at random: once
within five seconds of a ``make demo`` start (2026-12-07), when beat queued its first sweep.

Here a message is written under a name the readers ignore (``<name>.partial``: kombu takes only files whose name
after the first dot is ``<queue>.msg``) and renamed into place when complete; a rename within one file system is
atomic, so a reader sees the whole message or nothing. Everything else is kombu's transport. Selected by
``CELERY_BROKER_TRANSPORT = "core.broker_filesystem:Transport"`` (config/settings/local.py and test_sqlite.py)
whenever the broker URL is ``filesystem://``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    # kombu's filesystem.Channel (whose signature this keeps) and its AbstractChannel name the payload differently
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Put ``payload`` onto ``queue``: written in full under a name no reader takes, then renamed into place."""
        filename = os.path.join(self.data_folder_out, f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg")
        partial = filename + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, filename)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {filename!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
