"""Giving leases back when the annotator's page is left: POST /api/annotation/release, as navigator.sendBeacon
sends it (a text/plain JSON body, the session cookie, no CSRF header), authorised per lease by its release token."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Assignment, QueueItem
from annotation.services import assignment_next, queue_fill
from annotation.services import leases as leases_
from tests.factories import CandidateFactory, api_key_for

pytestmark = pytest.mark.django_db

RELEASE = "api-annotation-release"


@pytest.fixture
def pool(settings: Any) -> None:
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 0.0}
    for _ in range(4):
        CandidateFactory(status="pooled")
    queue_fill()


def _browser(user: Any) -> APIClient:
    """A logged-in browser session that enforces CSRF as the real site does."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _beacon(client: APIClient, leases: list[dict[str, Any]]) -> Any:
    body = orjson.dumps({"leases": leases})
    return client.post(reverse(RELEASE), body, content_type="text/plain;charset=UTF-8")


def _held(client: APIClient) -> list[dict[str, Any]]:
    body = client.get(reverse("api-annotation-next")).json()
    return [{"assignment": s["assignment"], "token": s["release_token"]} for s in (body["step"], body["prefetch"])]


def test_a_beacon_gives_the_pages_leases_back_and_their_slots_go_to_others(pool: None, make_user: Any) -> None:
    annotator = make_user("annotator")
    client = _browser(annotator)
    leases = _held(client)
    candidates = set(
        Assignment.objects.filter(pk__in=[lease["assignment"] for lease in leases]).values_list(
            "candidate_id", flat=True
        )
    )
    assert len(candidates) == 2
    assert set(QueueItem.objects.filter(candidate_id__in=candidates).values_list("in_flight", flat=True)) == {1}

    response = _beacon(client, leases)  # no X-CSRFToken header: a beacon cannot send one

    assert response.status_code == 200, response.content
    assert response.json() == {"released": 2}
    assert set(Assignment.objects.filter(annotator=annotator).values_list("status", flat=True)) == {"released"}
    assert set(QueueItem.objects.filter(candidate_id__in=candidates).values_list("in_flight", flat=True)) == {0}
    # the annotator never gets those candidates again; another annotator gets them at once (in progress: first)
    mine = assignment_next(annotator=annotator)
    assert mine is not None and mine.assignment.candidate_id not in candidates
    other = make_user("annotator", username="other")
    claimed = {claim.assignment.candidate_id for claim in [leases_._claim(other, timezone.now()) for _ in range(3)]}
    assert candidates <= claimed


def test_a_repeated_release_changes_nothing(pool: None, make_user: Any) -> None:
    client = _browser(make_user("annotator"))
    leases = _held(client)
    assert _beacon(client, leases).json() == {"released": 2}
    in_flight = list(QueueItem.objects.order_by("pk").values_list("in_flight", flat=True))

    again = _beacon(client, leases)

    assert again.status_code == 200 and again.json() == {"released": 0}
    assert list(QueueItem.objects.order_by("pk").values_list("in_flight", flat=True)) == in_flight


def test_an_annotator_can_release_only_their_own_leases(pool: None, make_user: Any) -> None:
    owner, other = make_user("annotator"), make_user("annotator", username="other")
    owners = _held(_browser(owner))
    others = _browser(other)
    own = _held(others)

    # another's lease with its real token, or with one's own token: refused, and nothing released, not even the
    # caller's own lease named in the same body
    for leases in ([owners[0]], [own[0], {"assignment": owners[1]["assignment"], "token": own[1]["token"]}]):
        response = _beacon(others, leases)
        assert response.status_code == 403, response.content
    assert set(Assignment.objects.values_list("status", flat=True)) == {"leased"}

    # with an API token (scripts) the same rule holds
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(other)}")
    assert api.post(reverse(RELEASE), {"leases": [owners[0]]}, format="json").status_code == 403
    assert api.post(reverse(RELEASE), {"leases": own}, format="json").json() == {"released": 2}
    assert Assignment.objects.filter(annotator=owner, status="leased").count() == 2


def test_an_anonymous_beacon_is_refused(pool: None, make_user: Any) -> None:
    leases = _held(_browser(make_user("annotator")))
    response = _beacon(APIClient(enforce_csrf_checks=True), leases)
    assert response.status_code in (401, 403)
    assert set(Assignment.objects.values_list("status", flat=True)) == {"leased"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "detail"),
        (b'{"leases": []}', "leases"),
        (b'{"leases": [{"assignment": "x", "token": "t"}]}', "leases"),
        (b'{"leases": [{"assignment": 1}]}', "leases"),
        (b'{"assignment": 1, "token": "t"}', "leases"),
        (b'{"leases": [{"assignment": 0, "token": "t"}]}', "leases"),
        (b'{"leases": [{"assignment": 1, "token": "' + b"t" * 65 + b'"}]}', "leases"),
        (orjson.dumps({"leases": [{"assignment": n, "token": "t"} for n in range(1, 22)]}), "leases"),
    ],
)
def test_bad_release_input_is_a_400_naming_the_field(pool: None, make_user: Any, body: bytes, field: str) -> None:
    client = _browser(make_user("annotator"))
    _held(client)
    response = client.post(reverse(RELEASE), body, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert set(Assignment.objects.values_list("status", flat=True)) == {"leased"}
