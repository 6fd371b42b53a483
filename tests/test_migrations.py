"""Upgrading a populated database of the previous schema (before the shared run model, the core app and the
pipeline events) loses no row: run records of every kind keep their fields and get the new ones with defaults,
the outbox's rows move to core's table with their ids, and everything else is untouched."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The leaf migrations of each app before the redesign (commit a99a3a2).
PREVIOUS = [
    ("knowledge", "0008_outbox"),
    ("filtering", "0002_filter_run_claimed_by"),
    ("annotation", "0005_assignment_leased_by"),
    ("classifiers", "0001_registry_and_runs"),
    ("curation", "0002_export_instructions"),
    ("generation", "0002_seed_prompt_templates"),
    ("core", None),
]
TABLES = [
    "knowledge_ingestrun",
    "filtering_filterrun",
    "classifiers_trainingrun",
    "classifiers_scoringrun",
    "classifiers_scoringchunk",
    "curation_exportrun",
    "generation_generationrun",
    "knowledge_candidate",
]


def _migrate(targets: list[tuple[str, str | None]] | list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([target for target in targets if target[1] is not None]).apps


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  (constant table names)
        return int(cursor.fetchone()[0])


def test_the_previous_schema_upgrades_with_every_row_kept() -> None:
    old = _migrate(PREVIOUS)
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    ingest = old.get_model("knowledge", "IngestRun").objects.create(
        status="running", source="cli", claimed_by="task-1", started_at=now, message="reading", progress_total=9
    )
    old.get_model("knowledge", "IngestRun").objects.create(status="succeeded", source="api", finished_at=now)
    relation = old.get_model("knowledge", "Relation").objects.get(slug="capable_of")
    candidate = old.get_model("knowledge", "Candidate").objects.create(
        dedup_key="k1", head_kind="plain", head_text="boots", relation=relation, tail="grip", tail_normalized="grip"
    )
    configuration = old.get_model("filtering", "FilterConfiguration").objects.create(version=99, config={})
    old.get_model("filtering", "FilterRun").objects.create(
        configuration=configuration, config={}, status="succeeded", phase="done", report={"rules": 1}
    )
    training = old.get_model("classifiers", "TrainingRun").objects.create(
        target="typical", kind="tfidf_lr", status="running", phase="fitting", started_at=now
    )
    version = old.get_model("classifiers", "ModelVersion").objects.create(
        target="typical", kind="tfidf_lr", artifact="x", training_run=training, is_active=True, version_token=3
    )
    scoring = old.get_model("classifiers", "ScoringRun").objects.create(
        model_version=version, version_token=3, status="running", chunks_total=2, chunks_done=1
    )
    old.get_model("classifiers", "ScoringChunk").objects.create(
        run=scoring, start_id=1, end_id=10, status="running", claimed_by="task-9", claimed_at=now
    )
    old.get_model("curation", "ExportRun").objects.create(format="jsonl", status="queued")
    old.get_model("generation", "GenerationRun").objects.create(
        backend="openai", model_name="m", status="failed", message="endpoint down"
    )
    outbox = old.get_model("knowledge", "OutboxMessage")
    pending = outbox.objects.create(task="knowledge.ingest_run_execute", args=[ingest.pk])
    outbox.objects.create(task="filtering.filter_run_execute", args=[1], sent_at=now)
    before = {table: _count(table) for table in TABLES}

    _migrate(_latest())

    assert {table: _count(table) for table in TABLES} == before
    assert _count("core_outboxmessage") == 2
    from core.models import OutboxMessage
    from knowledge.models import Candidate, IngestRun

    moved = OutboxMessage.objects.get(pk=pending.pk)
    assert moved.task == "knowledge.ingest_run_execute" and moved.args == [ingest.pk] and moved.sent_at is None
    run = IngestRun.objects.get(pk=ingest.pk)
    assert (run.status, run.claimed_by, run.message, run.progress_total) == ("running", "task-1", "reading", 9)
    assert (run.error, run.heartbeat_at, run.attempts) == ("", None, 0)
    from classifiers.models import ScoringChunk, TrainingRun

    assert TrainingRun.objects.get(pk=training.pk).phase == "fitting"
    assert ScoringChunk.objects.get(run_id=scoring.pk).claimed_by == "task-9"
    assert Candidate.objects.get(pk=candidate.pk).tail == "grip"
    # the sweep can see the running ones that no heartbeat ever vouched for (their start is their last sign)
    assert IngestRun.objects.filter(status="running", heartbeat_at__isnull=True).count() == 1


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
