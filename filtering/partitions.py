"""A filter run's pool split by head into partitions filtered side by side, each in a process of its own.

The rules and the TF-IDF similarity stage are pure Python: one process uses one core while the database waits, and
the database works while Python waits. A run on PostgreSQL therefore splits the pool into
``FILTER_PARTITIONS`` partitions by a hash of the head (``selectors.filterable_candidates_by_head(partition=...)``);
the run's own process filters partition 0 and one child process per other partition
(``python -m filtering.partition_worker``) filters the rest at the same time, writing its decisions under the run
and handing back what it dropped. The run's process then moves every candidate in its one final transaction, as
before. Every decision depends on one head only (the rules cache per head; near-duplicates exist within one
head and relation; the generic rule's pool-wide tail statistics are computed once, before the split, and given to
every partition), so a partition sees all it needs.

One exception, documented in docs/filtering.md: a TF-IDF encoder is fitted on each chunk's texts, so the chunk
boundaries, and with them borderline TF-IDF decisions, depend on the partition count. The count is a setting, not
the machine's cores, so a run stays a pure function of its configuration, the pool and that setting.

Partitions are used only where they are safe and pay: PostgreSQL (SQLite serialises writers), outside a caller's
transaction (a child cannot see uncommitted rows), and with TF-IDF or no similarity (a neural encoder batches on
one device: two processes would load the model twice and fight over it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from core.errors import ApplicationError
from filtering.rules.generic import TailStats

PartitionSpec = tuple[int, int]  # (this partition, the partition count)
WORKER_MODULE = "filtering.partition_worker"  # run with ``python -m``
CHILD_ERROR_TAIL_CHARS = 2000


@dataclass
class PartitionResult:
    """What a partition's filtering found: dropped candidate -> its representative (None: dropped for itself),
    near-duplicate -> (representative, own support), how many candidates it read, its similarity seconds."""

    dropped: dict[int, int | None] = field(default_factory=dict)
    duplicates: dict[int, tuple[int, int]] = field(default_factory=dict)
    seen: int = 0
    similarity_seconds: float = 0.0

    def merge(self, other: PartitionResult) -> None:
        self.dropped.update(other.dropped)
        self.duplicates.update(other.duplicates)
        self.seen += other.seen
        self.similarity_seconds = max(self.similarity_seconds, other.similarity_seconds)

    def as_json(self) -> dict[str, Any]:
        return {
            "dropped": [[candidate, representative] for candidate, representative in self.dropped.items()],
            "duplicates": [[member, rep, support] for member, (rep, support) in self.duplicates.items()],
            "seen": self.seen,
            "similarity_seconds": self.similarity_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartitionResult:
        return cls(
            dropped={int(candidate): (None if rep is None else int(rep)) for candidate, rep in data["dropped"]},
            duplicates={int(member): (int(rep), int(support)) for member, rep, support in data["duplicates"]},
            seen=int(data["seen"]),
            similarity_seconds=float(data["similarity_seconds"]),
        )


def partition_count(config: dict[str, Any]) -> int:
    """How many partitions a run of ``config`` uses here and now (1: the run filters the pool alone)."""
    wanted = int(getattr(settings, "FILTER_PARTITIONS", 1))
    if wanted <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    similarity = config.get("similarity", {})
    if similarity.get("enabled", False) and not _encoder_is_tfidf(similarity):
        return 1
    return wanted


def _encoder_is_tfidf(similarity: dict[str, Any]) -> bool:
    from filtering.encoders import default_encoder_path

    name = str(similarity.get("encoder") or "tfidf")
    return name == "tfidf" or (name == "minilm" and default_encoder_path() is None)


def tail_stats_to_json(stats: dict[str, TailStats]) -> dict[str, Any]:
    return {tail: [value.heads, value.category_heads] for tail, value in stats.items()}


def tail_stats_from_json(data: dict[str, Any]) -> dict[str, TailStats]:
    return {
        tail: TailStats(heads=int(heads), category_heads={k: int(v) for k, v in per_category.items()})
        for tail, (heads, per_category) in data.items()
    }


class PartitionChild:
    """A child process filtering one partition (``python -m filtering.partition_worker JOB``).

    The job file names the run, the configuration, the pool's tail statistics, the partition, this process's id
    (the child stops when its parent is gone) and the database to use (a test database has a name of its own).
    The child prints ``progress N`` lines as it goes, and writes its ``PartitionResult`` to the result file.
    """

    def __init__(
        self, *, run_id: int, config: dict[str, Any], tail_stats: dict[str, TailStats], partition: PartitionSpec
    ) -> None:
        self.partition = partition
        self.folder = Path(tempfile.mkdtemp(prefix=f"plausi-filter-{run_id}-{partition[0]}-"))
        self.result_path = self.folder / "result.json"
        self.stderr_path = self.folder / "stderr.txt"
        database = {key: connection.settings_dict.get(key) for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
        job = {
            "run_id": run_id,
            "config": config,
            "tail_stats": tail_stats_to_json(tail_stats),
            "partition": list(partition),
            "parent_pid": os.getpid(),
            "database": database,
            "settings_module": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.production"),
            "result_path": str(self.result_path),
        }
        job_path = self.folder / "job.json"
        job_path.touch(mode=0o600)  # it holds the database password, when there is one
        job_path.write_text(json.dumps(job))
        self.reported = 0
        self._buffer = b""
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(  # this interpreter and a module of this project
                [sys.executable, "-m", WORKER_MODULE, str(job_path)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=Path(__file__).resolve().parent.parent,
            )
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)

    def poll_progress(self) -> int:
        """Candidates the child has reported since the last call (reads what its pipe holds, never waits)."""
        assert self.process.stdout is not None
        try:
            chunk = self.process.stdout.read()
        except BlockingIOError:
            chunk = None
        if not chunk:
            return 0
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        added = 0
        for line in lines:
            if line.startswith(b"progress "):
                added += int(line.split()[1])
        self.reported += added
        return added

    def result(self) -> PartitionResult:
        """The child's result once it has exited; a failed child raises ``ApplicationError`` with its stderr."""
        code = self.process.wait()
        if code != 0 or not self.result_path.exists():
            tail = self.stderr_path.read_text(errors="replace")[-CHILD_ERROR_TAIL_CHARS:]
            raise ApplicationError(
                f"The filter partition {self.partition[0]} of {self.partition[1]} failed (exit code {code}): {tail}"
            )
        return PartitionResult.from_json(json.loads(self.result_path.read_text()))

    def stop(self) -> None:
        """Stop the child if it still runs and remove its files."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for path in self.folder.iterdir():
            path.unlink()
        self.folder.rmdir()


def children_wait(children: list[PartitionChild], *, beat: Callable[[int], None]) -> list[PartitionResult]:
    """Wait for every child, calling ``beat`` with the newly reported candidates at least every half second
    (the run's heartbeat and progress), and return their results in partition order."""
    while any(child.process.poll() is None for child in children):
        beat(sum(child.poll_progress() for child in children))
        time.sleep(0.2)
    beat(sum(child.poll_progress() for child in children))
    return [child.result() for child in children]
