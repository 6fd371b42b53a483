"""An annotator logs in and answers questions with the keyboard only."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Answer, Assignment, QueueItem
from annotation.services import queue_fill
from tests.factories import CandidateFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_annotator_answers_by_keyboard_undoes_and_reaches_the_empty_queue(page: Page, log_in: Any) -> None:
    CandidateFactory(status="pooled", tail="grip icy sidewalks <script>window.__pwned=1</script>")
    queue_fill()
    user = UserFactory(role="annotator")
    log_in(page, user.username)
    page.goto("/annotate/")
    question = page.locator("#question-text")
    expect(page.locator("#question-number")).to_have_text("1")
    expect(page.locator("#tail")).to_have_text("grip icy sidewalks <script>window.__pwned=1</script>")
    page.keyboard.press("y")
    expect(page.locator("#question-number")).to_have_text("2")
    expect(question).to_contain_text("about this search and this product")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#question-number")).to_have_text("3")
    page.keyboard.press("u")  # undo the answer to question 2
    expect(page.locator("#status")).to_have_text("Your last answer was taken back.")
    expect(page.locator("#question-number")).to_have_text("2")
    page.keyboard.press("n")  # No ends this annotator's pass over the only candidate
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#answered-today")).to_have_text("2")
    assert page.evaluate("window.__pwned") is None
    assert sorted(Answer.objects.values_list("question__slug", "value")) == [("complete", True), ("relevant", False)]
    page.keyboard.press("?")
    expect(page.locator("#keys")).to_be_visible()


def test_an_undo_pressed_while_the_answer_is_on_its_way_takes_that_answer_back(page: Page, log_in: Any) -> None:
    CandidateFactory(status="pooled")
    queue_fill()
    user = UserFactory(role="annotator")
    log_in(page, user.username)
    page.goto("/annotate/")
    expect(page.locator("#question-number")).to_have_text("1")

    def slow_answers(route: Any) -> None:
        page.wait_for_timeout(1000)
        route.continue_()

    page.route("**/api/annotation/answers", slow_answers)
    page.keyboard.press("y")
    expect(page.locator("#question-number")).to_have_text("2", timeout=500)  # shown before the answer landed
    page.keyboard.press("u")  # the answer is still delayed: the undo waits for it, then takes it back
    expect(page.locator("#status")).to_have_text("Your last answer was taken back.")
    expect(page.locator("#question-number")).to_have_text("1")
    assert not Answer.objects.exists()
    page.keyboard.press("n")
    expect(page.locator("#empty")).to_be_visible()
    assert list(Answer.objects.values_list("question__slug", "value")) == [("complete", False)]


def test_a_skip_pressed_while_the_answer_is_on_its_way_skips_after_it_lands(page: Page, log_in: Any) -> None:
    first, second = CandidateFactory(status="pooled", tail="first tail"), CandidateFactory(status="pooled")
    queue_fill()
    user = UserFactory(role="annotator")
    log_in(page, user.username)
    page.goto("/annotate/")
    expect(page.locator("#question-number")).to_have_text("1")
    shown = first if page.locator("#tail").inner_text() == first.tail else second

    def slow_answers(route: Any) -> None:
        page.wait_for_timeout(1000)
        route.continue_()

    page.route("**/api/annotation/answers", slow_answers)
    page.keyboard.press("y")
    expect(page.locator("#question-number")).to_have_text("2", timeout=500)
    page.keyboard.press("s")  # waits for the answer, then gives the candidate up
    expect(page.locator("#tail")).not_to_have_text(shown.tail)
    assert list(Answer.objects.values_list("candidate_id", "question__slug")) == [(shown.pk, "complete")]
    assert Assignment.objects.get(annotator=user, candidate=shown).status == Assignment.Status.SKIPPED


def test_the_annotator_page_works_at_phone_width(page: Page, log_in: Any) -> None:
    CandidateFactory(status="pooled")
    queue_fill()
    user = UserFactory(role="annotator")
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, user.username)
    page.goto("/annotate/")
    yes = page.locator("#answer-yes")
    expect(yes).to_be_visible()
    box = yes.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375
    yes.click()
    expect(page.locator("#question-number")).to_have_text("2")
    expect(page.locator("#answered-today")).to_have_text("1")  # the answer landed before the test ends


def test_after_a_no_the_next_candidate_appears_without_waiting_for_the_server(page: Page, log_in: Any) -> None:
    first, second = (
        CandidateFactory(status="pooled", tail="first tail"),
        CandidateFactory(status="pooled", tail="second tail"),
    )
    queue_fill()
    user = UserFactory(role="annotator")
    log_in(page, user.username)
    page.goto("/annotate/")
    # Equal priorities are served from a random point of the tie-break order: either candidate may come first.
    expect(page.locator("#tail")).to_have_text(re.compile(r"^(first|second) tail$"))
    shown = page.locator("#tail").inner_text()
    on_screen, prefetched = (first, second) if shown == "first tail" else (second, first)

    def slow_answers(route: Any) -> None:
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/api/annotation/answers", slow_answers)
    page.keyboard.press("n")
    # The answer is still on its way (delayed 1.5 s), yet the prefetched candidate is already on screen.
    expect(page.locator("#tail")).to_have_text(prefetched.tail, timeout=500)
    expect(page.locator("#question-number")).to_have_text("1")
    expect(page.locator("#answered-today")).to_have_text("1", timeout=5000)
    assert Answer.objects.filter(candidate=on_screen).count() == 1
    assert not Answer.objects.filter(candidate=prefetched).exists()


def test_leaving_the_annotator_page_gives_its_leases_back_at_once(page: Page, log_in: Any) -> None:
    for number in range(3):
        CandidateFactory(status="pooled", tail=f"tail {number}")
    queue_fill()
    user = UserFactory(role="annotator")
    log_in(page, user.username)
    page.goto("/annotate/")
    expect(page.locator("#question-number")).to_have_text("1")
    held = list(Assignment.objects.filter(annotator=user).values_list("candidate_id", flat=True))
    assert len(held) == 2  # the question on screen and the next candidate, leased ahead
    assert Assignment.objects.filter(annotator=user, status="leased").count() == 2

    page.goto("/")  # the page is left: its pagehide handler sends the release beacon

    deadline = time.monotonic() + 10
    while Assignment.objects.filter(annotator=user, status="leased").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(Assignment.objects.filter(annotator=user).values_list("status", flat=True)) == {"released"}
    assert set(QueueItem.objects.filter(candidate_id__in=held).values_list("in_flight", flat=True)) == {0}
