"""Filter configurations and filter runs: every write of the filtering app.

A run reads the filterable pool once, in head order (a server-side cursor), applies the pure rules
(filtering/rules) to each candidate and hands what they keep to the similarity filter (filtering/similarity), which
works on head-aligned chunks as they fill; every drop decision is written in bulk, and finally the run
moves candidates between ``pooled`` and ``filtered_out`` with set-based UPDATEs in one transaction. Decisions
are a pure function of the configuration and the pool, so re-running with the same configuration changes no
candidate.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import combinations
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from core.errors import ApplicationError
from core.events import event_emit
from core.outbox import run_enqueue
from core.runs import RunHandle, run_claim, run_execute
from filtering import selectors
from filtering.config import DEFAULT_CONFIG, ConfigError, validate_config
from filtering.decisions import decision_rows, decisions_write
from filtering.models import FilterConfiguration, FilterDecision, FilterRun
from filtering.partitions import PartitionChild, PartitionResult, PartitionSpec, children_wait, partition_count
from filtering.rules import build_rules, evaluate
from filtering.rules.generic import TailStats
from knowledge.services import candidate_filter_outcomes_apply

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
EXAMPLES_PER_RULE = 5
DECISION_BATCH = 20_000


# --- configurations -----------------------------------------------------------------------------------------


def filter_configuration_active() -> FilterConfiguration:
    """The active configuration; the shipped default becomes version 1 the first time one is needed."""
    active = FilterConfiguration.objects.filter(is_active=True).first()
    if active is not None:
        return active
    with transaction.atomic():
        _serialise_versions()
        active = FilterConfiguration.objects.filter(is_active=True).first()
        if active is not None:  # created meanwhile by whoever held the lock
            return active
        if not FilterConfiguration.objects.exists():
            return FilterConfiguration.objects.create(
                version=1, config=validate_config(DEFAULT_CONFIG), is_active=True, note="shipped default"
            )
        latest = FilterConfiguration.objects.select_for_update().order_by("-version").first()
        assert latest is not None
        latest.is_active = True
        latest.save(update_fields=["is_active"])
        return latest


def _serialise_versions() -> None:
    """Number versions one writer at a time, until the caller's transaction ends: a lock on the table (a row lock
    on the newest version cannot cover an empty table, where the first two writers would both take version 1).
    Readers are not blocked. SQLite serialises every writer anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE filtering_filterconfiguration IN SHARE ROW EXCLUSIVE MODE")


@transaction.atomic
def filter_configuration_create(
    *, config: object, created_by: Any = None, note: str = "", activate: bool = True
) -> FilterConfiguration:
    """Validate a configuration and store it as the next version (active unless told otherwise).

    A bad value raises ``ApplicationError`` naming the path of the value, e.g. ``rules.length.min_tokens``.
    """
    try:
        validated = validate_config(config)
    except ConfigError as exc:
        raise ApplicationError(f"Invalid filter configuration: {exc}", extra={"path": exc.path}) from exc
    _serialise_versions()
    version = (FilterConfiguration.objects.aggregate(latest=Max("version"))["latest"] or 0) + 1
    if activate:
        FilterConfiguration.objects.filter(is_active=True).update(is_active=False)
    return FilterConfiguration.objects.create(
        version=version,
        config=validated,
        note=note[:300],
        is_active=activate,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
    )


# --- runs ---------------------------------------------------------------------------------------------------


@transaction.atomic
def filter_run_create(
    *, created_by: Any = None, configuration_version: int | None = None, enqueue: bool = False
) -> FilterRun:
    """Record a run of one configuration (the active one by default); with ``enqueue`` a cpu worker runs it."""
    if configuration_version is None:
        configuration = filter_configuration_active()
    else:
        found = FilterConfiguration.objects.filter(version=configuration_version).first()
        if found is None:
            raise ApplicationError(f"There is no filter configuration version {configuration_version}.")
        configuration = found
    with transaction.atomic():
        run = FilterRun.objects.create(
            configuration=configuration,
            config=configuration.config,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        if enqueue:
            _enqueue(run.pk)  # through the outbox, in this transaction
    return run


def _enqueue(run_id: int) -> None:
    from filtering.tasks import filter_run_execute_task

    run_enqueue(task=filter_run_execute_task, run_id=run_id)


def filter_run_claim(*, run_id: int, claimer: str = "") -> bool:
    """Take a queued run for execution; False when another worker already has it. A running run is taken over
    by a redelivery of its own task, or by anyone once its heartbeat is stale (``core.runs``): execution starts
    over from its first phase, clearing what the earlier attempt had recorded."""
    return run_claim(FilterRun, run_id=run_id, claimer=claimer, phase="statistics", progress_done=0)


class _Progress:
    def __init__(self, handle: RunHandle, total: int) -> None:
        self.handle = handle
        self.total = total
        self.done = 0

    def advance(self, amount: int, *, phase: str | None = None, force: bool = False) -> None:
        self.done += amount
        self.handle.progress(done=self.done, total=self.total, phase=phase, force=force)


def _pool_tail_stats(config: dict[str, Any]) -> dict[str, TailStats]:
    generic = config["rules"].get("generic", {})
    if not generic.get("enabled", False):
        return {}
    per_tail: dict[str, dict[str, int]] = defaultdict(dict)
    for tail, category, heads in selectors.tail_category_head_counts(min_heads=int(generic["min_distinct_heads"])):
        per_tail[tail][category] = heads
    return {
        tail: TailStats(heads=sum(categories.values()), category_heads=dict(categories))
        for tail, categories in per_tail.items()
    }


def filter_run_execute(*, run_id: int, progress: ProgressCallback | None = None) -> FilterRun:
    """Execute a claimed run; see the module docstring for the stages and the guarantees."""
    run = FilterRun.objects.get(pk=run_id)
    if run.status != FilterRun.Status.RUNNING:
        raise ApplicationError(f"Filter run {run_id} is {run.status}, not running; claim it first.")
    return run_execute(
        FilterRun,
        run_id=run_id,
        work=lambda handle: _execute(run, handle),
        failure_message=lambda exc: f"Internal error ({type(exc).__name__}: {exc}); no candidate was moved.",
        progress=progress,
    )


def _execute(run: FilterRun, handle: RunHandle) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()
    # A run taken over after its worker died starts again: what it had recorded goes (statuses only ever move
    # in the final transaction, so there is nothing else to undo).
    FilterDecision.objects.filter(run=run).delete()
    config = run.config
    total = selectors.filterable_count()
    similarity_on = bool(config.get("similarity", {}).get("enabled", False))
    progress_total = total * (2 if similarity_on else 1)
    handle.progress(done=0, total=progress_total, phase="statistics")
    progress = _Progress(handle, progress_total)

    tail_stats = _pool_tail_stats(config)
    timings["statistics"] = round(time.monotonic() - started, 3)

    stage = time.monotonic()
    count = partition_count(config)
    children: list[PartitionChild] = []
    try:
        # The other partitions start first, so that their processes' start-up overlaps this one's work (one at a
        # time into the list, so that a failure to start one still stops those already started).
        for number in range(1, count):
            children.append(
                PartitionChild(run_id=run.pk, config=config, tail_stats=tail_stats, partition=(number, count))
            )

        def advance(amount: int, phase: str) -> None:
            progress.advance(amount + sum(child.poll_progress() for child in children), phase=phase)

        found = filter_run_partition_execute(
            run_id=run.pk,
            config=config,
            tail_stats=tail_stats,
            partition=(0, count) if count > 1 else None,
            advance=advance,
        )
        if children:
            handle.progress(phase="partitions")  # this partition is done; the others are finishing
        for result in children_wait(children, beat=progress.advance):
            found.merge(result)
    finally:
        for child in children:
            child.stop()
    dropped, duplicates = found.dropped, found.duplicates
    if similarity_on:
        timings["similarity"] = round(found.similarity_seconds, 3)
    timings["rules"] = round(time.monotonic() - stage - timings.get("similarity", 0.0), 3)
    if count > 1:
        timings["partitions"] = count

    stage = time.monotonic()
    handle.progress(phase="applying")
    # The moves, the report and the run's end commit together: a claimant that lost the run moves nothing.
    with transaction.atomic():
        moved_to_pooled, moved_to_filtered_out = _apply_outcomes(run_id=run.pk, dropped=dropped, duplicates=duplicates)
        timings["apply"] = round(time.monotonic() - stage, 3)
        timings["total"] = round(time.monotonic() - started, 3)
        kept_count = total - len(dropped)
        handle.finish(
            message=(
                f"Kept {kept_count} of {total} candidate(s), dropped {len(dropped)}; "
                f"{moved_to_pooled} moved to pooled, {moved_to_filtered_out} moved to filtered out."
            ),
            phase="done",
            report=_report(run_id=run.pk),
            candidates_seen=total,
            candidates_dropped=len(dropped),
            candidates_kept=kept_count,
            moved_to_pooled=moved_to_pooled,
            moved_to_filtered_out=moved_to_filtered_out,
            progress_done=progress_total,
            timings=timings,
        )
        event_emit(
            name="filter.succeeded",
            payload={
                "filter_run": run.pk,
                "moved_to_pooled": moved_to_pooled,
                "moved_to_filtered_out": moved_to_filtered_out,
            },
        )


def filter_run_partition_execute(
    *,
    run_id: int,
    config: dict[str, Any],
    tail_stats: dict[str, TailStats],
    partition: PartitionSpec | None,
    advance: Callable[[int, str], None],
) -> PartitionResult:
    """Filter one partition of a run's pool (all of it when ``partition`` is None): the rules on every candidate,
    the similarity stage on what they keep; the drop decisions are written under the run as they are made and the
    drops returned. ``advance(count, phase)`` is told of every candidate done (twice with similarity: once per
    stage). No candidate is moved here: the run's process moves them all in its final transaction."""
    result = PartitionResult()
    similarity = None
    if config.get("similarity", {}).get("enabled", False):
        from filtering.pipeline import SimilarityStage

        similarity = SimilarityStage(run_id=run_id, config=config, advance=lambda n: advance(n, "similarity"))
    rules = build_rules(config, tail_stats=tail_stats)
    decisions: list[tuple[Any, ...]] = []
    pending = 0
    # One read of the partition in head order feeds the rules and, with what they keep, the similarity stage; one
    # evaluate() over the whole partition, so the rules' per-head caches survive batch boundaries.
    for candidate, verdicts in evaluate(rules, selectors.filterable_candidates_by_head(partition=partition)):
        if verdicts:
            result.dropped[candidate.id] = None
            decisions.extend(decision_rows(run_id, candidate.id, verdicts))
        elif similarity is not None:
            similarity.add(candidate)
        pending += 1
        if pending >= DECISION_BATCH:
            decisions_write(decisions)
            result.seen += pending
            advance(pending, "rules")
            decisions, pending = [], 0
    decisions_write(decisions)
    result.seen += pending
    advance(pending, "rules")
    if similarity is not None:
        similarity.finish()
        result.dropped.update(similarity.dropped)
        result.duplicates = similarity.duplicates
        result.similarity_seconds = similarity.seconds
    return result


def _apply_outcomes(
    *, run_id: int, dropped: dict[int, int | None], duplicates: dict[int, tuple[int, int]]
) -> tuple[int, int]:
    """Hand the verdicts to the knowledge app, which moves its candidates (one transaction, set-based); returns
    (moved to pooled, moved to filtered out)."""
    merged: Counter[int] = Counter()
    for representative, support in duplicates.values():
        if representative not in dropped:
            merged[representative] += support
    return candidate_filter_outcomes_apply(
        run_id=run_id,
        dropped=dropped,
        merged=merged,
        filterable_statuses=selectors.FILTERABLE_STATUSES,
    )


def _report(*, run_id: int) -> dict[str, Any]:
    """Counts per rule, how often two rules fired on the same candidate, examples of each rule, and where the
    candidates carry known ``plausible`` labels, how the drops and the kept fared on them (``labelled``)."""
    per_rule: dict[str, int] = {}
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    overlap: Counter[tuple[str, str]] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rule, count(*) FROM filtering_filterdecision WHERE run_id = %s GROUP BY rule ORDER BY rule",
            [run_id],
        )
        per_rule = {rule: int(count) for rule, count in cursor.fetchall()}
        cursor.execute(
            "SELECT a.rule, b.rule, count(*) FROM filtering_filterdecision a "
            "JOIN filtering_filterdecision b ON b.run_id = a.run_id AND b.candidate_id = a.candidate_id "
            "AND a.rule < b.rule WHERE a.run_id = %s GROUP BY a.rule, b.rule",
            [run_id],
        )
        for first, second, count in cursor.fetchall():
            overlap[(first, second)] = int(count)
        cursor.execute(
            """
            SELECT rule, candidate_id, tail, reason, score FROM (
                SELECT d.rule, d.candidate_id, c.tail, d.reason, d.score,
                       ROW_NUMBER() OVER (PARTITION BY d.rule ORDER BY d.score DESC, d.candidate_id) AS rank
                FROM filtering_filterdecision d JOIN knowledge_candidate c ON c.id = d.candidate_id
                WHERE d.run_id = %s
            ) ranked WHERE rank <= %s ORDER BY rule, rank
            """,
            [run_id, EXAMPLES_PER_RULE],
        )
        for rule, candidate_id, tail, reason, score in cursor.fetchall():
            examples[rule].append(
                {"candidate": candidate_id, "tail": tail, "reason": reason, "score": round(float(score), 4)}
            )
        cursor.execute(
            "SELECT count(*) FROM (SELECT candidate_id FROM filtering_filterdecision WHERE run_id = %s "
            "GROUP BY candidate_id HAVING count(*) = 1) only_one",
            [run_id],
        )
        single_rule = int(cursor.fetchone()[0])
    rules = sorted(per_rule)
    labelled = selectors.labelled_outcomes(run_id=run_id)
    return {
        **({"labelled": labelled} if labelled is not None else {}),
        "per_rule": per_rule,
        "dropped_by_one_rule_only": single_rule,
        "overlap": [
            {"rules": [first, second], "candidates": overlap[(first, second)]}
            for first, second in combinations(rules, 2)
            if overlap[(first, second)]
        ],
        "examples": dict(examples),
    }


def embedding_cache() -> Any:
    """The database cache of sentence embeddings (filtering's table), for other apps' encoders: vectors depend
    only on the model and the text, so the classifiers reuse what the similarity filter embedded."""
    from filtering.embedding_cache import DatabaseEmbeddingCache

    return DatabaseEmbeddingCache()
