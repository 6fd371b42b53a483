"""The candidate lifecycle: only allowed transitions happen, in bulk, through the service."""

from __future__ import annotations

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
    moved = candidate_status_transition(candidate_ids=[c.pk for c in [*fresh, accepted]], to_status="filtered_out")
    assert moved == 3
    assert set(Candidate.objects.filter(pk__in=[c.pk for c in fresh]).values_list("status", flat=True)) == {
        "filtered_out"
    }
    accepted.refresh_from_db()
    assert accepted.status == "accepted"


@pytest.mark.django_db
def test_an_unknown_target_status_is_an_application_error() -> None:
    with pytest.raises(ApplicationError, match="Unknown candidate status"):
        candidate_status_transition(candidate_ids=[1], to_status="nowhere")
