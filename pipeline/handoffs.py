"""The pipeline as code: every hand-off between Plausi's stages, named in one place.

    ingest ──ingest.succeeded──▶ filter run ──filter.succeeded──▶ queue fill + priorities ──▶ annotators
    answers ──label counter (beat)──▶ training run ──promotion──▶ activation ══▶ scoring run
    scoring run ──scoring.succeeded──▶ priorities (active learning) [+ review batches, off by default]
    batch approved ══▶ accepted edges ──graph.updated──▶ subscribers (exports, webhooks, a serving cache)

``──event──▶``: the stage that finished records the event in the transaction of its own last writes, with one
outbox message per subscribed hand-off (``core.events``); a worker then runs the hand-off below. ``══▶``: the
same transaction (activation and its scoring run, an approval and its edges). The label counter is counted by
the answer's own statement and read by Celery beat (``classifiers.retraining_check``), so the answer path never
enqueues anything.

Each automatic hand-off is switched by its name in ``PLAUSI_PIPELINE`` (settings; all on except review batches).
A hand-off that is off leaves its stage waiting for an operator (``manage.py filter``, ``annotation_queue``, a
training request, ...); the pipeline view says so. Every handler is idempotent: a message delivered twice, or a
hand-off raced by an operator, does its work once or finds nothing to do.

To add a stage: emit an event where it finishes (``core.events.event_emit``), add a ``Handoff`` here with its
handler, and a task in ``pipeline/tasks.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from core.events import Subscription, event_get, handoff_enabled, subscribe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handoff:
    """One automatic hand-off: from a stage to the next, on a trigger, switchable by ``name``."""

    name: str
    source: str
    target: str
    trigger: str  # an event name, or how else it is triggered
    task: str  # the Celery task that carries it
    description: str
    switchable: bool = True

    @property
    def enabled(self) -> bool:
        return not self.switchable or handoff_enabled(self.name)

    @property
    def on_event(self) -> bool:
        return "." in self.trigger and " " not in self.trigger


HANDOFFS: tuple[Handoff, ...] = (
    Handoff(
        "filter_after_ingest",
        "ingest",
        "filter",
        "ingest.succeeded",
        "pipeline.filter_after_ingest",
        "An ingest that imported candidates queues a filter run over the pool (unless one is already waiting).",
    ),
    Handoff(
        "queue_after_filter",
        "filter",
        "annotate",
        "filter.succeeded",
        "pipeline.queue_after_filter",
        "A finished filter run puts the new pooled candidates into the annotation queue and recomputes priorities.",
    ),
    Handoff(
        "train_after_labels",
        "annotate",
        "train",
        "beat: the label counter",
        "classifiers.retraining_check",
        "Every RETRAIN_EVERY new labels of a target (MIN_LABELS for its first) request one training of it.",
    ),
    Handoff(
        "activate_after_training",
        "train",
        "score",
        "the training's own transaction",
        "classifiers.training_run_execute",
        "A version the promotion rule prefers is activated, which starts rescoring the pool in chunks.",
    ),
    Handoff(
        "priorities_after_scoring",
        "score",
        "annotate",
        "scoring.succeeded",
        "pipeline.priorities_after_scoring",
        "Finished scores feed the annotation priorities (uncertain candidates flow back to annotators).",
    ),
    Handoff(
        "batches_after_scoring",
        "score",
        "curate",
        "scoring.succeeded",
        "pipeline.batches_after_scoring",
        "Scored candidates are grouped into review batches for curators (off by default: curators batch by hand).",
    ),
    Handoff(
        "graph_after_approval",
        "curate",
        "graph",
        "the approval's own transaction",
        "curation.batch_decide",
        "An approved batch becomes accepted edges and emits graph.updated for PLAUSI_PIPELINE_SUBSCRIBERS.",
        switchable=False,
    ),
)

STAGES: tuple[tuple[str, str], ...] = (
    ("ingest", "Ingest"),
    ("filter", "Filter"),
    ("annotate", "Annotate"),
    ("train", "Train"),
    ("score", "Score"),
    ("curate", "Curate"),
    ("graph", "Graph"),
)


def handoffs_register() -> None:
    """Subscribe the event-driven hand-offs (called once, by ``PipelineConfig.ready``)."""
    for handoff in HANDOFFS:
        if handoff.on_event:
            subscribe(Subscription(name=handoff.name, event=handoff.trigger, task=handoff.task))


# --- the handlers (run by pipeline/tasks.py on a worker) ---------------------------------------------------------


def _event_time(event_id: int) -> dt.datetime | None:
    from core.models import PipelineEvent

    return PipelineEvent.objects.filter(pk=event_id).values_list("created_at", flat=True).first()


def filter_after_ingest(*, event_id: int) -> int | None:
    """Queue a filter run when candidates wait in ``ingested`` and no filter run will see them anyway (one
    queued, or one that started after the ingest finished). Returns the new run's id, or None."""
    from filtering.selectors import filter_run_will_see
    from filtering.services import filter_run_create
    from knowledge.selectors import candidates_waiting_for_filters

    if not handoff_enabled("filter_after_ingest") or not candidates_waiting_for_filters():
        return None
    since = _event_time(event_id)
    if since is not None and filter_run_will_see(since=since):
        return None
    return filter_run_create(enqueue=True).pk


def queue_after_filter(*, event_id: int) -> tuple[int, int]:
    """Put pooled candidates into the annotation queue and recompute every priority; (queued, prioritised)."""
    from annotation.services import queue_fill_prioritised
    from classifiers.selectors import active_learning_inputs

    if not handoff_enabled("queue_after_filter"):
        return 0, 0
    return queue_fill_prioritised(**active_learning_inputs())  # each new item written once, with its priority


def priorities_after_scoring(*, event_id: int) -> int:
    """Recompute the annotation priorities with the classifiers' new uncertainty (active learning)."""
    from annotation.services import queue_priorities_recompute
    from classifiers.selectors import active_learning_inputs

    if not handoff_enabled("priorities_after_scoring"):
        return 0
    return queue_priorities_recompute(**active_learning_inputs())


def batches_after_scoring(*, event_id: int) -> int:
    """Group the newly scored candidates into review batches (when every target has an active classifier)."""
    from core.errors import Conflict
    from curation.services import review_batches_create

    if not handoff_enabled("batches_after_scoring"):
        return 0
    try:
        return len(review_batches_create())
    except Conflict as refused:  # a target without an active classifier yet: the next scoring run will batch
        logger.info("batches after scoring %s: %s", event_id, refused)
        return 0


HANDLERS: dict[str, Callable[..., object]] = {
    "filter_after_ingest": filter_after_ingest,
    "queue_after_filter": queue_after_filter,
    "priorities_after_scoring": priorities_after_scoring,
    "batches_after_scoring": batches_after_scoring,
}


def handoff_run(*, name: str, event_id: int) -> object:
    """Run one hand-off for one event (the task's whole body)."""
    if event_get(event_id) is None:
        logger.warning("hand-off %s: no event %s", name, event_id)
        return None
    return HANDLERS[name](event_id=event_id)
