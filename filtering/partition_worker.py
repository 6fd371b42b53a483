"""``python -m filtering.partition_worker JOB``: filter one partition of a filter run (filtering/partitions.py).

Started by the run's own process, never by hand. It reads the job file, sets Django up on the database the job
names, filters its partition (writing the decisions under the run), prints ``progress N`` lines on stdout and
writes its result file. It stops with exit code 3 when the run's process is gone (a killed worker must not leave a
child writing decisions for a run that another worker has taken over).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

EXIT_PARENT_GONE = 3


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this process when the process that started it dies (``PR_SET_PDEATHSIG``):
    a worker killed mid-run takes its partitions with it at once, before they write another batch of decisions
    for a run that another worker may take over. Elsewhere the parent check in ``advance`` does it, later."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


def main(argv: list[str]) -> int:
    _die_with_parent()
    job = json.loads(Path(argv[1]).read_text())
    if os.getppid() != int(job["parent_pid"]):  # it died before the line above took effect
        return EXIT_PARENT_GONE
    os.environ["DJANGO_SETTINGS_MODULE"] = job["settings_module"]
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict.update(job["database"])

    from core.gc_relaxed import collections_relaxed
    from filtering.partitions import tail_stats_from_json
    from filtering.services import filter_run_partition_execute

    parent = int(job["parent_pid"])

    def advance(count: int, _phase: str) -> None:
        if os.getppid() != parent:
            sys.exit(EXIT_PARENT_GONE)
        sys.stdout.write(f"progress {count}\n")
        sys.stdout.flush()

    with collections_relaxed():  # as its parent's run (core/runs.py)
        result = filter_run_partition_execute(
            run_id=int(job["run_id"]),
            config=job["config"],
            tail_stats=tail_stats_from_json(job["tail_stats"]),
            partition=(int(job["partition"][0]), int(job["partition"][1])),
            advance=advance,
        )
    Path(job["result_path"]).write_text(json.dumps(result.as_json()))
    connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
