"""A curator opens the dashboard: Chart.js draws every chart in the browser, under the CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHARTS = ("chart-funnel", "chart-throughput", "chart-learning", "chart-batches")


def test_the_dashboard_draws_its_charts_full_width_without_csp_violations(
    page: Page, sign_in: Any, scored_pool: Any, csp_violations: Any, screenshot: Any
) -> None:
    from django.core.cache import cache

    from curation import services
    from curation.models import BatchMember

    cache.clear()
    scored_pool(6)
    (batch,) = services.review_batches_create(seed=6)
    curator = UserFactory(role="curator")
    audited = list(BatchMember.objects.filter(batch=batch, in_audit=True).values_list("candidate_id", flat=True))
    assert len(audited) == 6  # a batch this small is audited whole
    for index, candidate_id in enumerate(audited):  # five Yes, one No: precision 5/6
        services.audit_answer(batch_id=batch.pk, candidate_id=candidate_id, value=index > 0, curator=curator)
    cache.clear()
    sign_in(curator)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/dashboard/")
    expect(page.locator("#charts")).to_have_attribute("data-drawn", "true")
    for canvas in CHARTS:
        drawn = page.evaluate(
            "(id) => { const chart = Chart.getChart(document.getElementById(id));"
            " return chart ? {type: chart.config.type, datasets: chart.data.datasets.length,"
            " width: chart.width} : null; }",
            canvas,
        )
        assert drawn is not None, canvas
        assert drawn["width"] > 900, (canvas, drawn)  # one chart per row, full width at 1280 px
    funnel = page.evaluate("Chart.getChart(document.getElementById('chart-funnel')).data.datasets[0].data")
    assert sum(funnel) == 6
    batches = page.evaluate("Chart.getChart(document.getElementById('chart-batches')).data.datasets[0].data")
    assert batches[0]["y"] == pytest.approx(5 / 6)
    expect(page.locator("#chart-learning-empty")).to_be_visible()  # no classifier trained in this test
    expect(page.locator("#chart-batches-empty")).to_be_hidden()
    screenshot(page, "dashboard")
