"""Shared fixtures: users per role, authenticated clients, ingest helpers and a real Celery worker."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from classifiers.models import CandidateScore, ModelVersion
from knowledge.models import Candidate, IngestRun, Relation
from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute
from tests.factories import CandidateFactory, CategoryFactory, ProductFactory, SearchBuyPairFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("annotator", "curator", "admin")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn_logged(command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
    """A process of its own session (so that ``process_stop`` stops its children), logging to var/<log_name>."""
    (ROOT / "var").mkdir(exist_ok=True)
    with (ROOT / "var" / log_name).open("ab") as log:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def child_database_url(*, port: int | None = None, query: str = "") -> str:
    """The test database as a ``TEST_DATABASE_URL`` for the processes a test starts (``port``: another port, e.g.
    one nothing listens on; ``query``: URL options such as ``conn_max_age=60``)."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{port or db['PORT']}/{db['NAME']}"
    return f"{url}?{query}" if query else url


def web_spawn(env: dict[str, str], port: int, log_name: str, *, server: str = "granian") -> subprocess.Popen[bytes]:
    """The production web process (config/web.py, ``plausi-web``) on loopback, served by ``server`` (granian,
    the default, or gunicorn), logging to var/<log_name>."""
    command = [sys.executable, "-m", "config.web"]
    return spawn_logged(command, {**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_SERVER": server}, log_name)


def web_workers(master: int) -> list[int]:
    """The worker processes of a web server started by ``web_spawn``: its children, but for multiprocessing's
    resource tracker (granian's workers are spawned processes) and any not yet reaped."""
    import psutil

    workers = []
    for child in psutil.Process(master).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return workers


def process_stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    def make(role: str | None, **kwargs: Any) -> Any:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def answer_path_alone(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Hold off the periodic work a request only sometimes pays, so that what a test counts on the answer path is an
    answer's own: the sweep of lapsed leases (at most once a second per process), the few-second caches of roles and
    of the open count, and gold (with none in the pool, a claim that first looked for gold would try twice)."""
    from annotation import selectors
    from annotation.services import leases
    from core import roles

    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 0.0}
    monkeypatch.setattr(leases, "_sweep_due", lambda: False)
    monkeypatch.setattr(roles, "ROLES_TTL_SECONDS", 3600.0)
    monkeypatch.setattr(selectors, "_OPEN_COUNT_TTL_SECONDS", 3600.0)


@pytest.fixture
def api_client_for(make_user: Callable[..., Any]) -> Callable[[str | None], APIClient]:
    """An API client logged in with a given role; ``None`` is anonymous, ``"norole"`` a user with no role."""

    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role is not None:
            client.force_authenticate(make_user(None if role == "norole" else role))
        return client

    return make


@pytest.fixture
def write_lines(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings/bytes as they are) as a JSON Lines file, gzipped on request."""

    def write(records: list[Any], name: str = "candidates.jsonl", *, gz: bool = False) -> Path:
        lines = []
        for record in records:
            if isinstance(record, bytes):
                lines.append(record)
            elif isinstance(record, str):
                lines.append(record.encode())
            else:
                lines.append(orjson.dumps(record))
        data = b"\n".join(lines) + b"\n"
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write


@pytest.fixture
def ingest(db: Any) -> Callable[..., IngestRun]:
    """Ingest files synchronously through the same services the CLI uses; returns the finished run."""

    def run_ingest(*paths: Path, **options: Any) -> IngestRun:
        run = ingest_run_create(
            files=[IngestFileSpec(path=path, name=path.name) for path in paths],
            source=IngestRun.Source.CLI,
            **options,
        )
        assert ingest_run_claim(run_id=run.pk)
        return ingest_run_execute(run_id=run.pk)

    return run_ingest


def search_buy(tail: str = "grip icy sidewalks", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "search_buy",
        "query": "winter boots for pregnant women",
        "product": {"id": "B0001", "title": "Slip-resistant ankle boot", "category": "Shoes"},
        "count": 12,
        "relation": "capable_of",
        "tail": tail,
    }
    record.update(overrides)
    return record


def _redis_forget_queued_tasks(url: str, prefix: str) -> None:
    """Delete this checkout's leftover broker keys (queues of an earlier, interrupted run), nobody else's."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def start_celery_worker(
    *,
    queues: str = "default,cpu,gpu",
    log_name: str = "test-celery-worker.log",
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (solo pool) on the test Redis and the test database; returns once ready."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": child_database_url(),
        "TEST_CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **(extra_env or {}),
    }
    log_path = ROOT / "var" / log_name
    log = open(log_path, "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues",
            queues,
            "--pool",
            "solo",
            "--prefetch-multiplier",
            "1",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if b"ready." in log_path.read_bytes():
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"The Celery worker did not start: see var/{log_name}")


def stop_celery_worker(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: Any, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the test Redis, using the test database (tests must commit data)."""
    _redis_forget_queued_tasks(settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"])
    process = start_celery_worker()
    yield process
    stop_celery_worker(process)


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def web_live(url: str, *, timeout: float = 60) -> bool:
    """Whether the web server at ``url`` answers its liveness check (``/healthz/live``) within ``timeout`` s."""
    import httpx

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz/live", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return wait_until(up, timeout=timeout)


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Per-process TTL caches (active questions, the open-queue count) must not leak from one test to the next."""
    from django.core.cache import cache

    from annotation import selectors as annotation_selectors
    from annotation.services import questions_cache_clear
    from core.roles import roles_cache_clear

    cache.clear()
    questions_cache_clear()
    roles_cache_clear()
    annotation_selectors.context_cache_clear()
    annotation_selectors._open_count_cache = (0.0, 0)
    yield


@pytest.fixture
def scored_pool(db: Any) -> Any:
    """Make scored candidates: two active classifiers (plausible, typical) whose scores the candidates pass."""

    def make(
        count: int = 30, *, relation: str = "capable_of", category: str = "Shoes", tails: list[str] | None = None
    ) -> list[Candidate]:
        versions = {}
        for token, target in enumerate(("plausible", "typical"), start=1):
            versions[target] = ModelVersion.objects.filter(target=target, is_active=True).first() or (
                ModelVersion.objects.create(
                    target=target, kind="tfidf_lr", artifact="x", is_active=True, version_token=token, threshold=0.5
                )
            )
        kind = CategoryFactory(name=category)
        product = ProductFactory(category=kind, title="Slip-resistant ankle boot")
        candidates = []
        for i in range(count):
            tail = tails[i % len(tails)] + f" {i}" if tails else f"grip icy sidewalks {i}"
            candidate = CandidateFactory(
                status="scored",
                relation=Relation.objects.get(slug=relation),
                tail=tail,
                pair=SearchBuyPairFactory(product=product),
            )
            for target, version in versions.items():
                CandidateScore.objects.create(
                    candidate=candidate,
                    target=target,
                    model_version=version,
                    version_token=version.version_token,
                    score=0.99 - i * 0.001 if target == "typical" else 0.97,
                )
            candidates.append(candidate)
        return candidates  # type: ignore[return-value]  # factory_boy stubs type instances as factories

    return make


# Modules whose code forks on ``connection.vendor`` (leases, queue reads, consolidation, token authentication, the
# filter run's writes, batches and the dashboard): ``make test`` runs them a second time on SQLite, the demo's
# database (``DJANGO_SETTINGS_MODULE=config.settings.test_sqlite pytest -m sqlite``), with the demo smoke test
# (tests/demo/test_demo_smoke.py, marked in its module).
SQLITE_MODULES = (
    "tests/annotation/test_assignment.py",
    "tests/annotation/test_round_trips.py",
    "tests/core/test_roles.py",
    "tests/core/test_api_fast.py",
    "tests/core/test_metrics.py",  # the answer counter reads a sequence (PostgreSQL) or sqlite_sequence
    "tests/filtering/test_filter_runs.py",
    "tests/curation/test_curation.py",
    "tests/curation/test_batch_strata.py",  # the pool's statements run on both
    "tests/curation/test_graph_explorer.py",  # search forks on the vendor (trigram index or a scan)
    "tests/curation/test_data_exports.py",  # the demo exports answers, labels and the dataset on SQLite
    "tests/curation/test_imports.py",  # labels_import's INSERT ... ON CONFLICT ... RETURNING on both
    "tests/knowledge/test_sentences.py",
    "tests/pipeline/test_dashboard.py",
    "tests/security/test_tokens.py",  # token authentication forks on the vendor
    "tests/security/test_password_guessing.py",
    "tests/webhooks/test_webhooks.py",  # the delivery claim locks rows on PostgreSQL only
)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if item.nodeid.startswith(SQLITE_MODULES) and not item.get_closest_marker("celery"):
            item.add_marker(pytest.mark.sqlite)
