"""The dashboard: its chart data API and what an empty dashboard tells a new user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from tests.factories import UserFactory


def test_the_chart_api_gives_every_chart_its_data(scored_pool: Any, client: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    scored_pool(3)
    client.force_login(UserFactory(role="curator"))
    body = client.get(reverse("api-dashboard-charts")).json()
    assert set(body) == {"funnel", "throughput", "learning_curves", "batches"}
    assert {row["status"]: row["count"] for row in body["funnel"]}["scored"] == 3
    assert len(body["throughput"]) == 14 and set(body["throughput"][0]) == {"day", "answers"}
    assert {curve["target"] for curve in body["learning_curves"]} == set(settings.PLAUSI_CLASSIFIERS["TARGETS"])
    assert body["batches"]["min_precision"] == settings.PLAUSI_CURATION["MIN_PRECISION"]


def test_an_empty_dashboard_says_what_to_do_first(db: Any, client: Any) -> None:
    client.force_login(UserFactory(role="admin"))
    html = client.get(reverse("dashboard")).content.decode()
    assert "No candidates yet" in html and reverse("ingest-runs") in html


def test_dates_read_iso_like_never_with_two_periods(settings: Any) -> None:
    import datetime as dt

    from django.template import Context, Template

    moment = dt.datetime(2026, 12, 5, 21, 53, tzinfo=dt.UTC)
    rendered = Template("Since {{ moment }}. On {{ moment|date }}.").render(Context({"moment": moment}))
    assert rendered == "Since 2026-12-05 21:53. On 2026-12-05."


def test_the_favicon_is_linked_and_favicon_ico_answers_without_a_404(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert 'rel="icon"' in client.get(reverse("login")).content.decode()
