"""Logging in and out in a real browser, what each role sees, and untrusted text on the ingest runs page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Locator, Page, expect

from knowledge.models import Candidate, IngestRun
from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute

# Transactional (the live server reads what the test commits); serialized_rollback restores the rows the data
# migrations seed (role groups, relations), which the flush after each transactional test deletes.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

HTML_PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def nav(page: Page) -> Locator:
    return page.locator("header.topbar nav")


def test_an_admin_logs_in_sees_the_counts_and_admin_links_visits_ingest_runs_and_logs_out(
    page: Page, log_in: Callable[..., None], make_user: Callable[..., Any], live_server: Any
) -> None:
    admin = make_user("admin")

    log_in(page, admin.username)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name=f"Welcome, {admin.username}")).to_be_visible()
    expect(page.get_by_role("heading", name="Candidates by status")).to_be_visible()
    counts = page.locator("#status-counts tr")
    expect(counts).to_have_count(len(Candidate.Status))
    for status in Candidate.Status:
        row = counts.filter(has=page.locator("th", has_text=re.compile(rf"^{status.value}$")))
        expect(row.locator("td")).to_have_text("0")
    expect(nav(page).get_by_role("link", name="Ingest runs", exact=True)).to_be_visible()
    expect(nav(page).get_by_role("link", name="Admin", exact=True)).to_be_visible()

    nav(page).get_by_role("link", name="Ingest runs", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/runs/ingest/")
    expect(page.get_by_role("heading", name="Ingest runs")).to_be_visible()
    expect(page.locator("table.runs tbody")).to_contain_text("No ingest runs yet: upload a file")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # The session is really gone: the home page sends the browser back to the login form.
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(
    page: Page, log_in: Callable[..., None], make_user: Callable[..., Any], live_server: Any
) -> None:
    admin = make_user("admin")

    log_in(page, admin.username, "not the password")

    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # Still anonymous: the home page sends the browser back to the login form.
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")


def test_an_annotator_sees_no_admin_links_and_is_refused_the_ingest_runs_page(
    page: Page, log_in: Callable[..., None], make_user: Callable[..., Any], live_server: Any
) -> None:
    annotator = make_user("annotator")

    log_in(page, annotator.username)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Annotate")).to_be_visible()
    expect(page.locator("header .who")).to_have_text(f"{annotator.username} · annotator")
    expect(nav(page).get_by_role("link", name="API")).to_be_visible()
    expect(page.get_by_role("link", name="Ingest runs")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    expect(page.get_by_role("heading", name="Candidates by status")).to_have_count(0)

    response = page.goto("/runs/ingest/")
    assert response is not None
    assert response.status == 403


def test_an_ingested_file_name_with_html_is_shown_as_plain_text_on_the_ingest_runs_page(
    page: Page, sign_in: Callable[[Any], None], make_user: Callable[..., Any], tmp_path: Path
) -> None:
    admin = make_user("admin")
    # The name a person gave the file (an upload name, say) is untrusted text; "/" is fine in a display name.
    file_name = f"x<b>bold</b>{HTML_PAYLOAD}.jsonl"
    path = tmp_path / "candidates.jsonl"
    record = {"kind": "plain", "head": "mug", "relation": "used_for_function", "tail": f"hold coffee {HTML_PAYLOAD}"}
    path.write_bytes(orjson.dumps(record) + b"\n")
    run = ingest_run_create(files=[IngestFileSpec(path=path, name=file_name)], source=IngestRun.Source.CLI)
    assert ingest_run_claim(run_id=run.pk)
    run = ingest_run_execute(run_id=run.pk)
    assert run.status == IngestRun.Status.SUCCEEDED, run.message
    assert run.candidates_created == 1
    sign_in(admin)

    for url in ("/runs/ingest/", "/"):
        page.goto(url)
        row = page.locator(f'table.runs tr[data-run-id="{run.pk}"]')
        expect(row).to_contain_text(file_name)
        expect(row.locator("td.status")).to_have_text("succeeded")
        assert row.locator("b, img, script").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
