"""A curator audits a review batch with the keyboard and approves it; an admin exports the accepted graph, which a
real Celery worker writes, and downloads it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, expect

from curation.models import AcceptedEdge, BatchStratum, CurationEvent, ExportRun, ReviewBatch
from curation.services import review_batches_create
from tests.conftest import wait_until
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_curator_audits_and_approves_a_batch_and_an_admin_exports_it(
    page: Page, log_in: Any, scored_pool: Any, celery_worker_process: Any
) -> None:
    scored_pool(6, tails=['grip icy sidewalks <img src=x onerror="window.__pwned=1">'])
    (batch,) = review_batches_create(seed=7)
    curator = UserFactory(role="curator")
    log_in(page, curator.username)
    page.goto(f"/curation/batches/{batch.pk}/")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(batch.audit_size)
    expect(rows.first).to_contain_text('<img src=x onerror="window.__pwned=1">')  # shown as text
    for _ in range(batch.audit_size):
        page.keyboard.press("y")
    expect(page.locator("#audited")).to_have_text(str(batch.audit_size))
    expect(page.locator("#precision")).to_have_text("1.000")
    page.locator("#approve").click()
    expect(page.locator("#batch-status")).to_have_text("approved")
    assert page.evaluate("window.__pwned") is None
    batch.refresh_from_db()
    assert batch.status == ReviewBatch.Status.APPROVED and batch.decided_by == curator
    assert AcceptedEdge.objects.filter(batch=batch).count() == 6

    admin = UserFactory(role="admin")
    page.context.clear_cookies()
    log_in(page, admin.username)
    page.goto("/exports/")
    page.locator("#format").select_option("jsonl")
    with page.expect_navigation():
        page.get_by_role("button", name="Export").click()
    run = ExportRun.objects.get()
    assert wait_until(lambda: ExportRun.objects.filter(pk=run.pk, status="succeeded").exists(), timeout=60)
    page.reload()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="download").click()
    path = download_info.value.path()
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(lines) == 6 and all(line["provenance"]["batch"] == batch.pk for line in lines)
    run.refresh_from_db()
    expect(page.locator("code[data-field=sha256]").first).to_have_text(run.sha256)


def test_a_curator_audits_a_batch_of_two_strata_by_keyboard_and_approves_it_without_the_failed_one(
    page: Page, sign_in: Any, scored_pool: Any, settings: Any, screenshot: Any
) -> None:
    settings.PLAUSI_CURATION = {
        **settings.PLAUSI_CURATION,
        "BATCH_TARGET_SIZE": 20,
        "BATCH_MAX_SIZE": 40,
        "STRATUM_MIN_SIZE": 5,
        "STRATUM_MIN_AUDIT": 2,
        "AUDIT_HALF_WIDTH": 0.3,
    }
    scored_pool(12, category="Shoes")
    scored_pool(10, category="Kitchen", tails=["<b>wrong</b> on purpose"])
    (batch,) = review_batches_create(seed=11)
    kitchen = BatchStratum.objects.get(batch=batch, category__name="Kitchen")
    curator = UserFactory(role="curator")
    sign_in(curator)
    page.goto(f"/curation/batches/{batch.pk}/")
    expect(page).to_have_title(f"Batch #{batch.pk} · Review batches · Plausi")
    expect(page.locator("#strata tbody tr")).to_have_count(2)
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(batch.audit_size)
    for index in range(batch.audit_size):
        wrong = rows.nth(index).get_attribute("data-stratum") == str(kitchen.pk)
        page.keyboard.press("n" if wrong else "y")
    expect(page.locator("#audited")).to_have_text(str(batch.audit_size))
    flagged = page.locator(f'#strata tr[data-stratum="{kitchen.pk}"]')
    expect(flagged).to_have_class("flagged")
    expect(flagged.locator('[data-field="flag"]')).to_have_text("below the bar")
    expect(flagged.locator('[data-field="precision"]')).to_contain_text("0.000")
    page.locator(f"#exclude-{kitchen.pk}").focus()
    page.keyboard.press("Space")
    expect(page.locator(f"#exclude-{kitchen.pk}")).to_be_checked()
    page.keyboard.press("Tab")  # the override reason
    page.keyboard.press("Tab")
    expect(page.locator("#approve")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#batch-status")).to_have_text("approved")
    expect(page.locator("#decision-message")).to_contain_text("without 1 stratum")
    expect(flagged.locator('[data-field="flag"]')).to_have_text("excluded")
    expect(page.locator("#precision")).to_have_text("1.000")
    screenshot(page, "batch-page")
    batch.refresh_from_db()
    kitchen.refresh_from_db()
    assert batch.status == ReviewBatch.Status.APPROVED and kitchen.excluded
    assert AcceptedEdge.objects.filter(batch=batch).count() == 12
    assert CurationEvent.objects.get(action="batch_approved").details["excluded_strata"] == [kitchen.pk]
    page.reload()
    expect(page.locator("#batch")).to_contain_text("Approved on ")
    expect(page.locator("#audit")).to_contain_text("<b>wrong</b> on purpose")  # LLM text shown as text
