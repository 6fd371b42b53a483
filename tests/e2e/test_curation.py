"""A curator audits a review batch with the keyboard and approves it; an admin exports the accepted graph, which a
real Celery worker writes, and downloads it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, expect

from curation.models import AcceptedEdge, ExportRun, ReviewBatch
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
