"""The annotation API: shape, one round trip per answer, idempotent retries, permissions, escaping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.models import AnnotatorProfile, Answer
from annotation.services import queue_fill
from knowledge.models import BehaviourPair, Relation
from tests.factories import CandidateFactory, CategoryFactory, ProductFactory, SearchBuyPairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue() -> None:
    CandidateFactory(status="pooled", tail='<img src=x onerror="alert(1)"> grip {ice}')
    CandidateFactory(status="pooled")
    queue_fill()


def test_next_returns_the_question_in_plain_language_with_its_context_and_the_question_after_a_yes(
    queue: None, api_client_for: Any
) -> None:
    body = api_client_for("annotator").get(reverse("api-annotation-next")).json()
    step = body["step"]
    assert step["question"]["slug"] == "complete" and step["question"]["number"] == 1
    assert step["then_if_yes"]["slug"] == "relevant"
    candidate = step["candidate"]
    assert candidate["context"].startswith("A shopper searched for “query")
    assert candidate["tail"] in step["question"]["text"]
    assert body["progress"] == {"answered_today": 0, "open_in_queue": 2}
    assert body["prefetch"]["candidate"]["id"] != candidate["id"]  # the next candidate, leased ahead
    assert body["prefetch"]["question"]["slug"] == "complete"


def test_an_answer_carries_the_next_question_and_a_retry_is_stored_once(queue: None, api_client_for: Any) -> None:
    client = api_client_for("annotator")
    step = client.get(reverse("api-annotation-next")).json()["step"]
    payload = {"assignment": step["assignment"], "question": "complete", "value": True, "idempotency_key": "k-1"}
    first = client.post(reverse("api-annotation-answers"), payload, format="json")
    assert first.status_code == 201
    assert first.json()["step"]["question"]["slug"] == "relevant"
    assert first.json()["progress"]["answered_today"] == 1
    retry = client.post(reverse("api-annotation-answers"), payload, format="json")
    assert retry.status_code == 200 and retry.json()["answer"] == first.json()["answer"]
    assert retry.json()["progress"]["answered_today"] == 1  # a retry is not counted twice
    assert Answer.objects.count() == 1
    assert client.get(reverse("api-annotation-next")).json()["progress"]["answered_today"] == 1
    undone = client.post(reverse("api-annotation-undo"))
    assert undone.status_code == 200 and undone.json()["progress"]["answered_today"] == 0


@pytest.mark.sqlite
def test_next_counts_the_answers_of_today_only(queue: None, api_client_for: Any) -> None:
    """``next`` reads the day's count with the annotator's leases: yesterday's answers count 0 today."""
    client = api_client_for("annotator")
    step = client.get(reverse("api-annotation-next")).json()["step"]
    payload = {"assignment": step["assignment"], "question": "complete", "value": True, "idempotency_key": "k-1"}
    assert client.post(reverse("api-annotation-answers"), payload, format="json").status_code == 201
    assert client.get(reverse("api-annotation-next")).json()["progress"]["answered_today"] == 1
    today = timezone.now().date()
    assert AnnotatorProfile.objects.filter(answered_on=today, answered_that_day=1).update(
        answered_on=today - dt.timedelta(days=1)
    )
    assert client.get(reverse("api-annotation-next")).json()["progress"]["answered_today"] == 0


def test_answering_a_question_that_is_not_current_is_a_409(queue: None, api_client_for: Any) -> None:
    client = api_client_for("annotator")
    step = client.get(reverse("api-annotation-next")).json()["step"]
    payload = {"assignment": step["assignment"], "question": "typical", "value": True, "idempotency_key": "k"}
    assert client.post(reverse("api-annotation-answers"), payload, format="json").status_code == 409


def test_another_annotators_lease_is_forbidden_and_anonymous_gets_nothing(queue: None, api_client_for: Any) -> None:
    step = api_client_for("annotator").get(reverse("api-annotation-next")).json()["step"]
    payload = {"assignment": step["assignment"], "question": "complete", "value": True, "idempotency_key": "k"}
    assert (
        api_client_for("annotator").post(reverse("api-annotation-answers"), payload, format="json").status_code == 403
    )
    assert api_client_for(None).get(reverse("api-annotation-next")).status_code == 401
    assert api_client_for("norole").get(reverse("api-annotation-next")).status_code == 403


def test_bad_input_is_a_400_naming_the_field(api_client_for: Any) -> None:
    response = api_client_for("annotator").post(
        reverse("api-annotation-answers"), {"assignment": "x", "value": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert {"assignment", "value", "question", "idempotency_key"} <= set(response.json())


def test_an_empty_queue_says_so(api_client_for: Any) -> None:
    body = api_client_for("annotator").get(reverse("api-annotation-next")).json()
    assert body["step"] is None and "queue is empty" in body["message"]


def test_skip_and_undo_answer_with_the_next_step(queue: None, api_client_for: Any) -> None:
    client = api_client_for("annotator")
    step = client.get(reverse("api-annotation-next")).json()["step"]
    skipped = client.post(reverse("api-annotation-skip", args=[step["assignment"]])).json()
    assert skipped["step"]["candidate"]["id"] != step["candidate"]["id"]
    current = skipped["step"]
    client.post(
        reverse("api-annotation-answers"),
        {"assignment": current["assignment"], "question": "complete", "value": False, "idempotency_key": "u"},
        format="json",
    )
    undone = client.post(reverse("api-annotation-undo"))
    assert undone.status_code == 200 and undone.json()["step"]["question"]["slug"] == "complete"
    assert client.post(reverse("api-annotation-undo")).status_code == 409


def test_the_agreement_page_is_for_curators_and_admins(queue: None) -> None:
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(role="annotator"))
    assert client.get(reverse("annotation-agreement")).status_code == 403
    client.force_login(UserFactory(role="curator"))
    page = client.get(reverse("annotation-agreement"))
    assert page.status_code == 200 and "Krippendorff" in page.content.decode()


def test_the_next_response_has_exactly_the_documented_shape(queue: None, api_client_for: Any) -> None:
    from annotation.apis import NextOutputSerializer, StepOutputSerializer

    body = api_client_for("annotator").get(reverse("api-annotation-next")).json()
    assert set(body) == set(NextOutputSerializer().fields)
    step_fields = StepOutputSerializer().fields
    assert set(body["step"]) == set(step_fields)
    for name in ("question", "candidate"):
        assert set(body["step"][name]) == set(step_fields[name].fields)
    assert set(body["progress"]) == set(NextOutputSerializer().fields["progress"].fields)


def test_placeholders_inside_llm_text_are_shown_as_they_are_not_filled_in(api_client_for: Any) -> None:
    product = ProductFactory(title="Ankle boot {tail}")
    CandidateFactory(status="pooled", tail="grip {tail} {statement} ice", pair=SearchBuyPairFactory(product=product))
    queue_fill()
    step = api_client_for("annotator").get(reverse("api-annotation-next")).json()["step"]
    statement = "Ankle boot {tail} is used for gripping {tail} {statement} ice."
    assert step["candidate"]["statement"] == statement
    assert step["question"]["text"] == f"Is “{statement}” a complete, understandable statement?"
    assert statement in step["then_if_yes"]["text"]


def test_a_co_buy_is_asked_about_two_products_bought_together_with_its_category_once(api_client_for: Any) -> None:
    camping = CategoryFactory(name="Outdoors & Camping")
    pair = BehaviourPair.objects.create(
        kind="co_buy",
        key="co" + "0" * 30,
        product=ProductFactory(title="Trailblazer Tent", category=camping),
        other_product=ProductFactory(title="Summit Sleeping Bag", category=camping),
    )
    CandidateFactory(
        status="pooled",
        head_kind="co_buy",
        pair=pair,
        relation=Relation.objects.get(slug="x_want"),
        tail="go camping for the first time",
    )
    queue_fill()
    step = api_client_for("annotator").get(reverse("api-annotation-next")).json()["step"]
    candidate = step["candidate"]
    assert candidate["categories"] == ["Outdoors & Camping"]
    assert candidate["statement"] == (
        "Someone who buys Trailblazer Tent together with Summit Sleeping Bag wants to go camping for the first time."
    )
    assert step["question"]["slug"] == "complete"
    assert step["then_if_yes"]["text"] == f"Is “{candidate['statement']}” about these two products bought together?"
    assert "search" not in step["then_if_yes"]["text"] + step["then_if_yes"]["help"]


@pytest.mark.parametrize("kind", ["search_buy", "co_buy", "plain"])
def test_every_seeded_question_reads_for_every_kind_of_behaviour(kind: str) -> None:
    from annotation.models import Question
    from annotation.services import question_wording, question_wordings

    relation = Relation.objects.get(slug="used_for_function")
    for question in Question.objects.all():
        template, help_text = question_wording(
            question_wordings(), question=question, relation_id=relation.pk, head_kind=kind
        )
        assert "{statement}" in template and help_text
        if kind != "search_buy":
            assert "search" not in (template + help_text).lower(), (question.slug, template, help_text)
