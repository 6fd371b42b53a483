"""``/metrics``: the figures move with what happens (scraped over HTTP from a running server and parsed with
prometheus_client's parser), the domain figures cost nothing within their cache, a failing source is reported
rather than a 500, and only the monitoring network or the token may read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from annotation import selectors as annotation_selectors
from annotation.services import queue_fill
from core import metrics as core_metrics
from knowledge.models import IngestRun
from knowledge.services import IngestFileSpec, ingest_run_create
from tests.factories import CandidateFactory, UserFactory, api_key_for

Samples = list[tuple[str, dict[str, str], float]]
RUN_KINDS = {"ingest", "filter", "training", "scoring", "export", "generation", "lm_training"}


def parse(text: str) -> Samples:
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value, 0 when absent (a histogram's label set appears with its first observation)."""
    found = [v for n, sample_labels, v in samples if n == name and labels.items() <= sample_labels.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0.0


def scrape_http(base_url: str, **headers: str) -> Samples:
    response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def requests_of(samples: Samples, view: str, method: str = "GET", status: str = "2xx") -> float:
    return value(samples, "plausi_http_request_duration_seconds_count", view=view, method=method, status=status)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_scrape_shows_latency_by_view_answers_queue_depth_runs_by_state_and_the_outbox_backlog(
    live_server: Any, settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    settings.METRICS_CACHE_SECONDS = 0  # every scrape reads the sources (the cache has its own test)
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)  # nothing relays: messages stay pending
    before = scrape_http(live_server.url)
    assert value(before, "plausi_annotation_queue_open") == 0
    assert value(before, "plausi_outbox_pending") == 0
    assert value(before, "plausi_outbox_oldest_pending_age_seconds") == 0
    assert value(before, "plausi_metrics_source_up", source="pipeline") == 1

    CandidateFactory.create_batch(3, status="pooled")
    queue_fill()
    key = api_key_for(UserFactory(role="annotator"))
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Token {key}"}, timeout=30) as http:
        step = http.get("/api/annotation/next").json()["step"]
        for number in range(2):
            payload = {
                "assignment": step["assignment"],
                "question": step["question"]["slug"],
                "value": True,
                "idempotency_key": f"metrics-{number}",
            }
            answered = http.post("/api/annotation/answers", json=payload)
            assert answered.status_code == 201, answered.text
            step = answered.json()["step"]
        assert http.get("/no-such-page/1").status_code == 404
        assert http.get("/no-such-page/2").status_code == 404
    upload = tmp_path / "candidates.jsonl"
    upload.write_text("{}\n")
    ingest_run_create(files=[IngestFileSpec(path=upload, name=upload.name)], source=IngestRun.Source.CLI, enqueue=True)

    after = scrape_http(live_server.url)
    answers = "api-annotation-answers"
    assert requests_of(after, answers, "POST") - requests_of(before, answers, "POST") == 2
    assert requests_of(after, "api-annotation-next") - requests_of(before, "api-annotation-next") == 1
    assert requests_of(after, "metrics") >= requests_of(before, "metrics") + 1  # the first scrape
    answers_le_30s = value(
        after,
        "plausi_http_request_duration_seconds_bucket",
        view="api-annotation-answers",
        method="POST",  # earlier tests in this process may have asked it with other methods
        status="2xx",
        le="30.0",
    )
    assert answers_le_30s >= 2
    # unmatched paths share one label value: the raw path never becomes a label
    assert requests_of(after, "<unresolved>", status="4xx") - requests_of(before, "<unresolved>", status="4xx") == 2
    assert not any("no-such-page" in str(labels) for _n, labels, _v in after)

    assert value(after, "plausi_answers_total") - value(before, "plausi_answers_total") == 2
    assert value(after, "plausi_annotation_queue_open") == 3
    assert (
        value(after, "plausi_runs", kind="ingest", state="queued")
        == value(before, "plausi_runs", kind="ingest", state="queued") + 1
    )
    assert {labels["kind"] for name, labels, _v in after if name == "plausi_runs"} == RUN_KINDS
    assert {labels["state"] for name, labels, _v in after if name == "plausi_runs"} == {
        "queued",
        "running",
        "succeeded",
        "failed",
    }
    assert value(after, "plausi_outbox_pending") == 1
    assert value(after, "plausi_outbox_oldest_pending_age_seconds") >= 0


@pytest.mark.django_db
def test_the_domain_figures_are_read_once_per_cache_period_across_scrapes(
    client: Client, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.METRICS_CACHE_SECONDS = 60
    first = parse(client.get("/metrics").content.decode())
    CandidateFactory.create_batch(2, status="pooled")
    queue_fill()
    with django_assert_num_queries(0):
        again = parse(client.get("/metrics").content.decode())
    assert value(again, "plausi_annotation_queue_open") == value(first, "plausi_annotation_queue_open") == 0
    settings.METRICS_CACHE_SECONDS = 0
    assert value(parse(client.get("/metrics").content.decode()), "plausi_annotation_queue_open") == 2


@pytest.mark.django_db
def test_the_queue_depth_above_its_exact_cap_is_the_planners_estimate_never_less_than_the_cap(
    monkeypatch: Any,
) -> None:
    CandidateFactory.create_batch(3, status="pooled")
    queue_fill()
    assert annotation_selectors.queue_depth() == 3
    monkeypatch.setattr(annotation_selectors, "QUEUE_DEPTH_EXACT_UP_TO", 2)
    assert annotation_selectors.queue_depth() >= 2  # the planner's estimate, read without counting


@pytest.mark.django_db
def test_a_failing_source_is_reported_as_down_and_the_rest_is_still_served(
    client: Client, settings: Any, monkeypatch: Any
) -> None:
    settings.METRICS_CACHE_SECONDS = 0

    def broken() -> list[core_metrics.Family]:
        raise RuntimeError("the database went away")

    monkeypatch.setitem(core_metrics._SOURCES, "broken", broken)
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = parse(response.content.decode())
    assert value(samples, "plausi_metrics_source_up", source="broken") == 0
    assert value(samples, "plausi_metrics_source_up", source="pipeline") == 1
    assert any(name == "plausi_answers_total" for name, _l, _v in samples)


# --- access ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote", "headers", "hops", "status"),
    [
        ("127.0.0.1", {}, 0, 200),  # Prometheus on the same host
        ("::1", {}, 0, 200),
        ("10.1.2.3", {}, 0, 200),  # a private network (a container network, a VPC)
        ("192.168.7.7", {}, 0, 200),
        ("203.0.113.5", {}, 0, 403),  # the public
        # through the reverse proxy: its own address is loopback, but the client is unknown (no trusted hops)
        ("127.0.0.1", {"HTTP_X_FORWARDED_PROTO": "https"}, 0, 403),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "10.0.0.5"}, 0, 403),
        ("127.0.0.1", {"HTTP_X_REAL_IP": "10.0.0.5"}, 1, 403),
        # with a trusted proxy, the client it names decides; entries before it are the client's own words
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "10.0.0.5", "HTTP_X_FORWARDED_PROTO": "https"}, 1, 200),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, 1, 403),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "10.0.0.1, 203.0.113.9"}, 1, 403),
    ],
)
def test_metrics_are_served_to_loopback_and_private_networks_only(
    settings: Any, remote: str, headers: dict[str, str], hops: int, status: int
) -> None:
    settings.TRUSTED_PROXY_HOPS = hops
    settings.METRICS_TOKEN = ""
    response = Client(REMOTE_ADDR=remote).get("/metrics", **headers)
    assert response.status_code == status, response.content
    if status == 403:
        assert b"plausi_" not in response.content


@pytest.mark.django_db
def test_the_bearer_token_opens_metrics_from_anywhere_and_a_wrong_or_empty_one_does_not(settings: Any) -> None:
    settings.METRICS_TOKEN = "a-long-random-metrics-token"
    public = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_PROTO="https")
    assert public.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-random-metrics-token").status_code == 200
    assert public.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-random-metrics-tokeN").status_code == 403
    assert public.get("/metrics", HTTP_AUTHORIZATION="Token a-long-random-metrics-token").status_code == 403
    assert public.get("/metrics").status_code == 403
    settings.METRICS_TOKEN = ""
    assert public.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    assert Client().post("/metrics").status_code == 405
