"""Upgrading a populated queue to the claim's ranges (annotation 0009): every item gets its tiebreak, items
leased before are started, and the slot flag is derived; nothing else changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("annotation", "0008_queueitem_closed_reason")]
AFTER = [("annotation", "0009_claim_ranges_and_release")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_a_populated_queue_upgrades_with_tiebreaks_started_flags_and_free_slots() -> None:
    old = _migrate(BEFORE)
    relation = old.get_model("knowledge", "Relation").objects.get(slug="capable_of")
    candidate_model = old.get_model("knowledge", "Candidate")
    user = old.get_model("auth", "User").objects.create(username="early")
    items = []
    for number in range(3):
        candidate = candidate_model.objects.create(
            dedup_key=f"m{number}",
            head_kind="plain",
            head_text="boots",
            relation=relation,
            tail="grip",
            tail_normalized="grip",
            status="in_annotation" if number == 0 else "pooled",
        )
        items.append(
            old.get_model("annotation", "QueueItem").objects.create(
                candidate=candidate, wanted=2, in_flight=2 if number == 0 else 0, priority=1.5
            )
        )
    old.get_model("annotation", "Assignment").objects.create(
        candidate_id=items[0].candidate_id, annotator=user, lease_expires_at="2030-01-01T00:00:00Z"
    )

    new = _migrate(AFTER)

    rows = {
        row.candidate_id: row
        for row in new.get_model("annotation", "QueueItem").objects.filter(
            candidate_id__in=[item.candidate_id for item in items]
        )
    }
    leased, fresh = rows[items[0].candidate_id], rows[items[1].candidate_id]
    assert (leased.started, leased.claimable, leased.in_flight, leased.priority) == (True, False, 2, 1.5)
    assert (fresh.started, fresh.claimable) == (False, True)
    for item in items:
        assert rows[item.candidate_id].tiebreak == (item.candidate_id * 2654435761) % 2**31
