"""The candidate lifecycle: only allowed transitions happen, in bulk, through the service."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ApplicationError
from knowledge import lifecycle
from knowledge.models import Candidate
from knowledge.services import candidate_status_transition
from tests.factories import CandidateFactory


def test_every_model_status_is_in_the_lifecycle_and_the_check_constraint() -> None:
    statuses = {choice.value for choice in Candidate.Status}
    assert statuses == set(lifecycle.ALLOWED_TRANSITIONS)
    constraint = next(c for c in Candidate._meta.constraints if c.name == "candidate_status_valid")
    assert set(constraint.condition.children[0][1]) == statuses


def test_predecessors_are_read_off_the_transition_table() -> None:
    assert lifecycle.predecessors("pooled") == {
        "ingested",
        "filtered_out",
        "in_annotation",
        "scored",  # a new model, or a rejected review batch, no longer accepts it
        "accepted",
        "rejected",
    }
    with pytest.raises(ValueError, match="unknown"):
        lifecycle.predecessors("teleported")


@pytest.mark.django_db
def test_a_transition_moves_only_candidates_whose_status_allows_it() -> None:
    fresh = CandidateFactory.create_batch(3)
    accepted = CandidateFactory(status="accepted")
    moved = candidate_status_transition(candidates=[c.pk for c in [*fresh, accepted]], to_status="filtered_out")
    assert moved == 3
    assert set(Candidate.objects.filter(pk__in=[c.pk for c in fresh]).values_list("status", flat=True)) == {
        "filtered_out"
    }
    accepted.refresh_from_db()
    assert accepted.status == "accepted"


@pytest.mark.django_db
def test_an_unknown_target_status_is_an_application_error() -> None:
    with pytest.raises(ApplicationError, match="Unknown candidate status"):
        candidate_status_transition(candidates=[1], to_status="nowhere")


@pytest.mark.django_db
def test_a_transition_takes_a_queryset_of_another_apps_rows_or_a_subquery_in_one_statement(
    django_assert_num_queries: Any,
) -> None:
    from annotation.models import QueueItem
    from knowledge.services import CandidateIdsSql

    queued = CandidateFactory.create_batch(2, status="pooled")
    left = CandidateFactory(status="pooled")
    for candidate in queued:
        QueueItem.objects.create(candidate=candidate)
    with django_assert_num_queries(1):
        moved = candidate_status_transition(candidates=QueueItem.objects.all(), to_status="in_annotation")
    assert moved == 2 and Candidate.objects.get(pk=left.pk).status == "pooled"
    with django_assert_num_queries(1):
        moved = candidate_status_transition(
            candidates=CandidateIdsSql("SELECT id FROM knowledge_candidate WHERE id = %s", [left.pk]),
            to_status="filtered_out",
        )
    assert moved == 1 and Candidate.objects.get(pk=left.pk).status == "filtered_out"


@pytest.mark.django_db
def test_a_transition_the_lifecycle_forbids_is_refused_before_anything_moves() -> None:
    from knowledge.services import candidate_status_update_sql

    labelled = CandidateFactory(status="labelled")
    with pytest.raises(ApplicationError, match="does not allow filtered_out -> labelled"):
        candidate_status_transition(candidates=[labelled.pk], to_status="labelled", from_statuses=["filtered_out"])
    with pytest.raises(ApplicationError, match="does not allow filtered_out -> scored"):
        candidate_status_update_sql(from_statuses=["filtered_out"], to_status="scored", where="id = %s")
    statement = candidate_status_update_sql(from_statuses=["in_annotation"], to_status="labelled", where="id = %s")
    assert statement.endswith("WHERE id = %s AND status IN ('in_annotation')")
