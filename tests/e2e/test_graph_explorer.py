"""A curator explores the accepted graph: finds a query by search, sees it drawn with its neighbours, expands a
concept from the keyboard-accessible list, and follows an edge to its provenance page; no CSP violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from curation import services
from curation.models import AcceptedEdge, BatchMember, GraphNode
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_curator_searches_expands_a_neighbour_and_opens_an_edges_provenance(
    page: Page, sign_in: Any, scored_pool: Any, screenshot: Any, csp_violations: Any
) -> None:
    scored_pool(6, tails=['keep feet warm <img src=x onerror="window.__pwned=1">'])
    (batch,) = services.review_batches_create(seed=5)
    curator = UserFactory(role="curator")
    for member in BatchMember.objects.filter(batch=batch, in_audit=True):
        services.audit_answer(batch_id=batch.pk, candidate_id=member.candidate_id, value=True, curator=curator)
    services.batch_decide(batch_id=batch.pk, approve=True, curator=curator)
    edge = AcceptedEdge.objects.select_related("head", "tail").order_by("pk").first()
    assert edge is not None and edge.head.kind == GraphNode.Kind.QUERY

    sign_in(curator)
    page.goto("/graph/")
    expect(page).to_have_title("Knowledge graph explorer · Plausi")
    expect(page.locator("#graph-counts")).to_contain_text("6 accepted edges")
    page.locator("#graph-search-text").fill(edge.head.label)
    page.locator("#graph-search-text").press("Enter")
    result = page.locator(f"#graph-search-results button[data-node='{edge.head_id}']")
    expect(result).to_be_focused()  # the first result takes the focus: Enter opens it
    page.keyboard.press("Enter")

    expect(page.locator("#graph-current-title")).to_have_text(edge.head.label)
    neighbour = page.locator(f"#graph-out button[data-node='{edge.tail_id}']")
    expect(neighbour).to_contain_text('<img src=x onerror="window.__pwned=1">')  # LLM text, shown as text
    assert page.evaluate("window.plausiGraph.nodes().length") == 2

    neighbour.focus()
    page.keyboard.press("Enter")  # expand the concept
    expect(page.locator("#graph-current-title")).to_have_text(edge.tail.label)
    expect(page.locator(f"#graph-in li[data-edge='{edge.pk}']")).to_be_visible()
    assert page.evaluate("window.plausiGraph.nodes().length") == 2  # the same two nodes: nothing drawn twice
    assert "node=" in page.url

    page.evaluate(f"window.plausiGraph.getElementById('e{edge.pk}').emit('tap')")  # as a click on the edge
    expect(page.locator("#graph-edge")).to_be_visible()
    expect(page.locator("#graph-edge-facts")).to_contain_text(f"#{batch.pk}")
    screenshot(page, "graph-explorer")
    assert not csp_violations.take()

    with page.expect_navigation():
        page.locator(f"#graph-in li[data-edge='{edge.pk}'] a").click()
    expect(page).to_have_url(f"{page.url.split('/graph/')[0]}/graph/edges/{edge.pk}/")
    expect(page.locator("h1")).to_have_text(f"Edge #{edge.pk}")
    expect(page.locator("#provenance")).to_contain_text(f"#{batch.pk}")
    expect(page.locator("#provenance a")).to_have_attribute("href", f"/curation/batches/{batch.pk}/")
    assert page.evaluate("window.__pwned") is None
