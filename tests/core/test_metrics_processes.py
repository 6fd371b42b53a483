"""``/metrics`` across processes: Celery task outcomes counted by a real worker and exported by the web, and
gunicorn's or granian's worker processes summed whichever worker answers the scrape, a dead worker's counts included."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.celery import app as celery_app
from core.models import TaskOutcome
from core.selectors import task_outcome_counts
from tests.conftest import child_database_url, free_port, process_stop, wait_until, web_live, web_spawn, web_workers
from tests.core.test_metrics import Samples, requests_of, scrape_http, value


@pytest.mark.celery
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_celery_task_outcomes_counted_by_a_real_worker_are_exported_by_the_web(
    live_server: Any, settings: Any, celery_worker_process: Any
) -> None:
    settings.METRICS_CACHE_SECONDS = 0
    task = "core.outbox_flush"
    before = scrape_http(live_server.url)
    celery_app.send_task(task)
    celery_app.send_task(task, args=["an argument it does not take"])  # raises TypeError in the worker

    def counted() -> bool:
        outcomes = dict(TaskOutcome.objects.filter(task=task).values_list("outcome", "count"))
        return outcomes.get("succeeded", 0) >= 1 and outcomes.get("failed", 0) >= 1

    assert wait_until(counted, timeout=60), "the worker did not count both outcomes (see var/test-celery-worker.log)"
    after = scrape_http(live_server.url)
    for outcome in ("succeeded", "failed"):
        moved = value(after, "plausi_celery_tasks_total", task=task, outcome=outcome) - value(
            before, "plausi_celery_tasks_total", task=task, outcome=outcome
        )
        assert moved >= 1, outcome
        assert value(after, "plausi_celery_task_seconds_total", task=task, outcome=outcome) > 0


@celery_app.task(bind=True, name="tests.metrics.retry_once", max_retries=1)
def retry_once(self: Any) -> str:
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return "done"


@pytest.mark.django_db
def test_a_retried_task_counts_one_retry_and_one_success() -> None:
    """Through Celery's own tracer (``apply``: the signals a worker sends, in this process)."""
    retry_once.apply()
    counts = {(task, outcome): count for task, outcome, count, _s in task_outcome_counts()}
    assert counts[("tests.metrics.retry_once", "retried")] == 1
    assert counts[("tests.metrics.retry_once", "succeeded")] == 1


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_web_workers_request_metrics_are_summed_whichever_worker_answers_and_a_dead_workers_stay(
    tmp_path: Path, server: str
) -> None:
    """Either server of the web process (config/web.py): a worker that dies is replaced, and its counts stay."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    (multiproc / "histogram_999999.db").write_bytes(b"left by an earlier gunicorn")  # emptied at start
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": child_database_url(),
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "METRICS_CACHE_SECONDS": "0",
    }
    web = web_spawn(env, port, f"test-metrics-{server}-web.log", server=server)
    url = f"http://127.0.0.1:{port}"
    try:
        assert web_live(url), f"{server} did not start: see var/test-metrics-{server}-web.log"
        assert not (multiproc / "histogram_999999.db").exists()
        assert wait_until(lambda: len(web_workers(web.pid)) == 2, timeout=30)
        baseline = requests_of(scrape_http(url), "healthz-live")

        def hit(_: int) -> int:
            with httpx.Client(timeout=10) as fresh:  # a new connection each: either worker may take it
                return fresh.get(f"{url}/healthz/live").status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(hit, range(60))) == {200}
        writers = {path.name for path in multiproc.glob("histogram_*.db")}
        assert len(writers) == 2, writers  # both workers served requests (each writes its own file)
        scrapes: list[Samples] = [scrape_http(url) for _ in range(6)]  # answered by either worker
        assert {requests_of(samples, "healthz-live") for samples in scrapes} == {baseline + 60}

        victim = web_workers(web.pid)[0]
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            now = web_workers(web.pid)  # read once: the list changes while the worker is replaced
            return victim not in now and len(now) == 2

        assert wait_until(replaced, timeout=30)
        assert requests_of(scrape_http(url), "healthz-live") == baseline + 60  # its counts are kept
    finally:
        process_stop(web)
