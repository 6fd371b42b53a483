"""The pipeline view: each stage's backlog, its last run, and what it is waiting on.

Counts over the whole pool come from cached selectors (candidate statuses are cached for half a minute, the open
queue for a few seconds), so the view costs a handful of small queries however large the pool is.
"""

from __future__ import annotations

from typing import Any

from annotation.selectors import queue_state_counts
from classifiers.selectors import training_backlog
from core.api.runs import run_summary
from core.events import handoff_enabled
from core.runs import Run, RunKind, run_kinds
from core.selectors import outbox_pending_by_task
from curation.selectors import batch_counts
from knowledge.selectors import candidate_status_counts
from pipeline.handoffs import HANDOFFS, STAGES

STAGE_RUN_KIND = {"ingest": "ingest", "filter": "filter", "train": "training", "score": "scoring", "graph": "export"}


def _last_and_in_flight(kind: RunKind) -> tuple[Run | None, int]:
    runs = kind.model._default_manager
    last = runs.order_by("-created_at", "-id").first()
    return last, runs.filter(status__in=["queued", "running"]).count()


def _handoff(handoff_name: str) -> Any:
    return next(h for h in HANDOFFS if h.name == handoff_name)


def _waiting(stage: str, backlog: dict[str, int], in_flight: int, pending: dict[str, dict[str, Any]]) -> str:
    """A sentence on what the stage waits for, or "" when it has nothing to do."""
    feeding = [h for h in HANDOFFS if h.target == stage]
    parked = [h for h in feeding if h.task in pending]
    if parked:
        count = sum(pending[h.task]["count"] for h in parked)
        return f"{count} hand-off message(s) wait in the outbox for the broker ({', '.join(h.name for h in parked)})."
    if in_flight:
        return f"{in_flight} run(s) queued or running."
    waiting_work = sum(backlog.values())
    if not waiting_work:
        return ""
    off = [h.name for h in feeding if h.switchable and not h.enabled]
    if off:
        return f"Waiting for an operator: the hand-off {', '.join(off)} is switched off."
    return {
        "filter": "Candidates wait for the next filter run.",
        "annotate": "Candidates wait for annotators.",
        "train": "Labels accumulate until the next training is due.",
        "curate": "Scored candidates wait for curators to batch and audit them.",
    }.get(stage, "")


def pipeline_overview(*, user: Any = None) -> dict[str, Any]:
    """Every stage with its backlog, last run and what it waits on; every hand-off with its switch and the
    messages it has waiting; the outbox."""
    statuses = candidate_status_counts()
    pending = outbox_pending_by_task()
    kinds = run_kinds()
    training = training_backlog()
    batches = batch_counts()
    queue = queue_state_counts()
    backlogs: dict[str, dict[str, int]] = {
        "ingest": {},
        "filter": {"ingested": statuses.get("ingested", 0)},
        "annotate": {
            "open_in_queue": queue.get("open", 0),
            "in_annotation": statuses.get("in_annotation", 0),
        },
        "train": {f"new_labels_{row['target']}": max(0, row["new_labels"]) for row in training if not row["in_flight"]},
        "score": {},
        "curate": {"scored": statuses.get("scored", 0), "batches_auditing": batches.get("auditing", 0)},
        "graph": {},
    }
    totals = {
        "ingest": {},
        "filter": {"pooled": statuses.get("pooled", 0), "filtered_out": statuses.get("filtered_out", 0)},
        "annotate": {"labelled": statuses.get("labelled", 0), "closed_in_queue": queue.get("closed", 0)},
        "train": {row["target"]: row["labels"] for row in training},
        "score": {"scored": statuses.get("scored", 0)},
        "curate": {"batches_approved": batches.get("approved", 0), "batches_rejected": batches.get("rejected", 0)},
        "graph": {"accepted": statuses.get("accepted", 0), "rejected": statuses.get("rejected", 0)},
    }
    stages = []
    for name, label in STAGES:
        kind = kinds.get(STAGE_RUN_KIND.get(name, ""))
        last, in_flight = _last_and_in_flight(kind) if kind is not None else (None, 0)
        visible = kind is not None and last is not None and _may_see(user, kind)
        stages.append(
            {
                "name": name,
                "label": label,
                "backlog": backlogs[name],
                "totals": totals[name],
                "runs_in_flight": in_flight,
                "last_run": run_summary(kind, last) if visible and kind is not None and last is not None else None,
                "waiting": _waiting(name, backlogs[name], in_flight, pending),
            }
        )
    if (generation := kinds.get("generation")) is not None:
        last, in_flight = _last_and_in_flight(generation)
        if in_flight:
            stages[0]["waiting"] = f"{in_flight} generation run(s) will ingest what they generate."
    return {
        "stages": stages,
        "training": training,
        "handoffs": [
            {
                "name": h.name,
                "source": h.source,
                "target": h.target,
                "trigger": h.trigger,
                "task": h.task,
                "description": h.description,
                "switchable": h.switchable,
                "enabled": h.enabled,
                "pending_messages": pending.get(h.task, {}).get("count", 0) if h.on_event else 0,
            }
            for h in HANDOFFS
        ],
        "outbox": {
            "pending": sum(row["count"] for row in pending.values()),
            "oldest_pending_at": min((row["oldest"] for row in pending.values()), default=None),
        },
        "switches": {h.name: handoff_enabled(h.name) for h in HANDOFFS if h.switchable},
    }


def _may_see(user: Any, kind: RunKind) -> bool:
    if user is None:
        return True
    from core.roles import Role, user_has_role

    return user_has_role(user, *(Role(name) for name in kind.viewers))
