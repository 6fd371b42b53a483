#!/usr/bin/env python
"""Soak benchmark (issue 8): annotators under faults while a retraining and a full pool rescoring run.

    python benchmarks/soak.py                                  # 200 annotators, 10,000 answers, 100,000 candidates
    python benchmarks/soak.py --candidates 3000 --labels 300 --annotators 20 --answers 800 --interval 0.25 \
        --lease-seconds 2 --vanish-rate 0.1 --processes 2                  # about the size tests/test_soak.py runs

A fresh PostgreSQL database (``--database``) gets the annotation benchmark's synthetic pool; ``--labels`` of its
candidates get consolidated labels and leave the queue (so that a classifier can train). Then, on loopback:
gunicorn (config/gunicorn.py) serves the real API (Redis as its cache, persistent health-checked database
connections, as in production), real Celery workers (solo pool, Redis broker) wait for work,
and the simulated annotators start, each over its own keep-alive HTTP connection. As they start, a retraining of
the ``typical`` classifier is requested; its activation starts a scoring run over the whole pool, so the
training and the rescoring run on the workers while the annotators answer. Every annotator answers once per
``--interval`` seconds until all of ``--answers`` are sent (or ``--max-seconds`` pass). Faults:

- ``--retry-rate`` of the submits are sent twice with the same idempotency key: half as a plain repeat after the
  first response, half as a *lost response* (the first attempt's connection is closed before its response is
  read and the retry goes out at once, so the two often run in the server at the same time);
- ``--vanish-rate`` of the annotators vanish mid-lease: they ask for a question and are never heard from again.
  Leases last ``--lease-seconds`` here, so their candidates must come back to the others during the run.

Printed at the end, and turned into the exit status (0 only if every check holds):

- answers stored == distinct answers acknowledged (by idempotency key and by answer id), no (candidate,
  question, annotator) twice, every retry answered with the stored answer, no question of a non-gold candidate
  above its overlap, no annotator assigned a candidate twice;
- no 5xx (and no transport error);
- every lease of a vanished annotator expired within ``--lease-seconds`` + ``LEASE_SLACK_SECONDS`` of its last
  activity (leases that lapsed after the last request are only counted);
- the retraining succeeded and its scoring run completed with exactly one score per pool candidate;
- p50/p95/p99 of next and of answer (reported; ``--p99-ms`` makes them a check too).

``--json FILE`` writes the same figures as JSON (the suite's ``tests/test_soak.py`` runs a small soak and reads
it). The database is dropped after a run that passes (``--keep-database`` keeps it). Loopback only; every
phase is bounded in time; gunicorn and the workers are always stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import random
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.annotation_load import (  # noqa: E402
    ANSWER_PATH,
    HOST,
    NEXT_PATH,
    YES_WITHOUT_KNOWN_LABEL,
    ServerConfig,
    WebServer,
    _percentile,
    annotators_create,
    database_build,
    gold_known_labels,
    http_exchange,
    json_or_none,
    run_in_threads,
    warm_up,
)
from benchmarks.classifier import label_candidates, start_workers, stop_workers  # noqa: E402

LEASE_SLACK_SECONDS = 3.0  # the lapsed-lease sweep runs at most once a second per web process, on requests


# --- the load generator (client processes; no Django) ------------------------------------------------------


@dataclass
class SoakResult:
    next_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    answer_ended_at: list[float] = field(default_factory=list)  # epoch seconds, one per answer_ms entry
    acknowledged: dict[str, int] = field(default_factory=dict)  # idempotency key -> answer id
    sent_keys: int = 0
    retries: int = 0
    lost_response_retries: int = 0
    retry_mismatches: list[str] = field(default_factory=list)  # a retry answered with another answer id
    statuses: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)  # 4xx answers by message (a lapsed lease is a 409)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    vanished: list[dict[str, Any]] = field(default_factory=list)  # {"token": ..., "at": epoch seconds}
    last_request_at: float = 0.0


class _Annotator:
    """One simulated annotator: a keep-alive connection, a quota of answers, and the faults it was dealt."""

    def __init__(self, *, spec: dict[str, Any], token: str, seed: int, quota: int, vanish_after: int | None) -> None:
        self.port = spec["port"]
        self.token = token
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.post_headers = {**self.headers, "Content-Type": "application/json"}
        self.known = spec["known"]
        self.retry_rate = spec["retry_rate"]
        self.rng = random.Random(seed)
        self.quota = quota
        self.vanish_after = vanish_after
        self.connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        self.result = SoakResult()

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, float]:
        started = time.perf_counter()
        headers = self.post_headers if body is not None else self.headers
        status, data = http_exchange(self.connection, method, path, body, headers)
        self.result.last_request_at = time.time()
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.result.statuses[f"{method} {status}"] += 1
        if status >= 500:
            self.result.server_errors.append(f"{method} {path} {status}: {data[:200]!r}")
        payload = json_or_none(data)
        if 400 <= status < 500:
            detail = (
                payload.get("detail", payload) if isinstance(payload, dict) else data[:100].decode(errors="replace")
            )
            self.result.refusals[f"{status} {detail}"] += 1
        return status, payload, elapsed_ms

    def _send_and_drop(self, body: bytes) -> None:
        """The first attempt of a lost response: the request goes out, its connection closes unread."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request("POST", ANSWER_PATH, body=body, headers=self.post_headers)
            connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            connection.close()

    def next_step(self) -> Any:
        status, body, elapsed = self._request("GET", NEXT_PATH)
        self.result.next_ms.append(elapsed)
        if status != 200 or not isinstance(body, dict):
            return None
        return body["step"]

    def answer(self, step: dict[str, Any]) -> Any:
        slug = step["question"]["slug"]
        known = self.known.get(step["candidate"]["id"], {}).get(slug)
        value = known if known is not None else self.rng.random() < YES_WITHOUT_KNOWN_LABEL
        key = uuid.uuid4().hex
        body = orjson.dumps(
            {"assignment": step["assignment"], "question": slug, "value": value, "idempotency_key": key}
        )
        self.result.sent_keys += 1
        retry = self.rng.random() < self.retry_rate
        lost = retry and self.rng.random() < 0.5
        if lost:
            self.result.lost_response_retries += 1
            self._send_and_drop(body)
        status, payload, elapsed = self._request("POST", ANSWER_PATH, body)
        self.result.answer_ms.append(elapsed)
        self.result.answer_ended_at.append(time.time())
        if status in (200, 201) and isinstance(payload, dict):
            self.result.acknowledged[key] = payload["answer"]
            if retry and not lost:
                self.result.retries += 1
                again_status, again, again_ms = self._request("POST", ANSWER_PATH, body)
                self.result.answer_ms.append(again_ms)
                self.result.answer_ended_at.append(time.time())
                if again_status != 200 or not isinstance(again, dict) or again["answer"] != payload["answer"]:
                    self.result.retry_mismatches.append(f"{key}: first {payload['answer']}, retry {again_status}")
            return payload["step"]
        return None

    def run(self, *, start_at: float, deadline: float, interval: float) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        tick = time.time() + self.rng.uniform(0, interval)
        step = None
        answers = 0
        try:
            while answers < self.quota and time.time() < deadline:
                time.sleep(max(0.0, tick - time.time()))
                tick = max(tick + interval, time.time())
                if step is None:
                    step = self.next_step()
                    if step is None:
                        time.sleep(0.2)
                        continue
                if self.vanish_after is not None and answers >= self.vanish_after:
                    # Gone mid-lease: the step in hand (and any prefetched one) stays leased to this annotator.
                    self.result.vanished.append({"token": self.token, "at": time.time()})
                    return
                step = self.answer(step)
                answers += 1
        except Exception as exc:  # one broken annotator is reported, not fatal to the run
            self.result.transport_errors[type(exc).__name__] += 1
        finally:
            self.connection.close()


def _merge(into: SoakResult, other: SoakResult) -> None:
    into.next_ms += other.next_ms
    into.answer_ms += other.answer_ms
    into.answer_ended_at += other.answer_ended_at
    into.acknowledged.update(other.acknowledged)
    into.sent_keys += other.sent_keys
    into.retries += other.retries
    into.lost_response_retries += other.lost_response_retries
    into.retry_mismatches += other.retry_mismatches
    into.statuses.update(other.statuses)
    into.refusals.update(other.refusals)
    into.server_errors += other.server_errors
    into.transport_errors.update(other.transport_errors)
    into.vanished += other.vanished
    into.last_request_at = max(into.last_request_at, other.last_request_at)


def client_process(spec: dict[str, Any]) -> SoakResult:
    """One client process: a thread per simulated annotator."""
    annotators = [
        _Annotator(
            spec=spec,
            token=token,
            seed=spec["seed"] * 100_000 + number,
            quota=quota,
            vanish_after=vanish_after,
        )
        for number, (token, quota, vanish_after) in enumerate(spec["annotators"])
    ]
    run_kwargs = {key: spec[key] for key in ("start_at", "deadline", "interval")}
    run_in_threads(
        [partial(annotator.run, **run_kwargs) for annotator in annotators], deadline=spec["deadline"], grace=90
    )
    merged = SoakResult()
    for annotator in annotators:
        _merge(merged, annotator.result)
    return merged


# --- checks (Django) --------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def answer_checks(result: SoakResult, annotator_ids: list[int]) -> list[Check]:
    from django.conf import settings
    from django.db import connection

    max_answers = settings.PLAUSI_ANNOTATION["MAX_ANSWERS"]
    gate_questions = list(settings.PLAUSI_ANNOTATION.get("GATE_QUESTIONS", []))
    gate_max_answers = int(settings.PLAUSI_ANNOTATION.get("GATE_MAX_ANSWERS", max_answers))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, idempotency_key FROM annotation_answer WHERE annotator_id = ANY(%s)", [annotator_ids]
        )
        stored = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*) - count(DISTINCT (candidate_id, question_id, annotator_id)) FROM annotation_answer "
            "WHERE annotator_id = ANY(%s)",
            [annotator_ids],
        )
        same_question_twice = cursor.fetchone()[0]
        cursor.execute(
            # a gate question may take up to GATE_MAX_ANSWERS (a No needs three; issue 21), the others MAX_ANSWERS
            "SELECT count(*), COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM annotation_answer a"
            " JOIN annotation_queueitem q ON q.candidate_id = a.candidate_id AND NOT q.is_gold"
            " JOIN annotation_question qq ON qq.id = a.question_id"
            " GROUP BY a.candidate_id, a.question_id, qq.slug"
            " HAVING count(*) > CASE WHEN qq.slug = ANY(%s) THEN %s ELSE %s END) over_overlap",
            [gate_questions, gate_max_answers, max_answers],
        )
        over_overlap, worst = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), count(DISTINCT (candidate_id, annotator_id)) FROM annotation_assignment "
            "WHERE annotator_id = ANY(%s)",
            [annotator_ids],
        )
        assignments, distinct_assignments = cursor.fetchone()
    acknowledged = result.acknowledged
    stored_keys = set(stored.values())
    lost = set(acknowledged) - stored_keys
    unacknowledged = stored_keys - set(acknowledged)
    wrong_ids = sum(1 for key, answer_id in acknowledged.items() if stored.get(answer_id) != key)
    return [
        Check(
            "answers stored == distinct answers acknowledged",
            not lost and not unacknowledged and not wrong_ids and len(stored) == len(acknowledged),
            f"stored {len(stored):,}, acknowledged {len(acknowledged):,} (of {result.sent_keys:,} sent); "
            f"acknowledged but not stored {len(lost)}, stored but never acknowledged {len(unacknowledged)}, "
            f"acknowledged under another answer id {wrong_ids}",
        ),
        Check(
            "no duplicates: no (candidate, question, annotator) twice, every retry got the stored answer",
            same_question_twice == 0 and not result.retry_mismatches,
            f"same question twice {same_question_twice}; retries {result.retries:,} + lost-response retries "
            f"{result.lost_response_retries:,}, mismatched {len(result.retry_mismatches)} "
            f"{result.retry_mismatches[:3]}",
        ),
        Check(
            f"no question of a non-gold candidate above its overlap ({max_answers}; gates {gate_max_answers})",
            over_overlap == 0,
            f"{over_overlap} over (worst {worst})",
        ),
        Check(
            "no annotator assigned a candidate twice",
            assignments == distinct_assignments,
            f"{assignments:,} assignments, {distinct_assignments:,} distinct (candidate, annotator)",
        ),
    ]


def lease_checks(result: SoakResult, lease_seconds: float) -> tuple[list[Check], int]:
    """Every lease a vanished annotator held ended within the lease time (plus the sweep's slack) of the
    annotator's last activity, provided the run went on long enough for a request to notice it."""
    from django.db import connection

    from core.models import ApiToken
    from core.tokens import api_token_digest

    tokens = [entry["token"] for entry in result.vanished]
    digests = [api_token_digest(token) for token in tokens]
    users = dict(ApiToken.objects.filter(digest__in=digests).values_list("digest", "user_id"))
    vanished_ids = [users[digest] for digest in digests]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, lease_expires_at, finished_at FROM annotation_assignment "
            "WHERE annotator_id = ANY(%s) AND (status IN ('leased', 'expired'))",
            [vanished_ids],
        )
        rows = cursor.fetchall()
    judged = late = still_leased = after_the_run = 0
    worst = 0.0
    for status, expires_at, finished_at in rows:
        if expires_at.timestamp() > result.last_request_at - LEASE_SLACK_SECONDS:
            after_the_run += 1  # lapsed after the last request: nothing was there to notice it
            continue
        judged += 1
        if status == "leased":
            still_leased += 1
            continue
        overdue = (finished_at - expires_at).total_seconds()
        worst = max(worst, overdue)
        if overdue > LEASE_SLACK_SECONDS:
            late += 1
    return [
        Check(
            f"a vanished annotator blocks a candidate for at most the lease ({lease_seconds:.0f} s)",
            still_leased == 0 and late == 0,
            f"{len(vanished_ids)} annotators vanished holding {len(rows)} leases; {judged} lapsed during the run: "
            f"{still_leased} still leased, {late} given back later than {LEASE_SLACK_SECONDS:.0f} s after "
            f"expiry (worst {worst:.1f} s); {after_the_run} lapsed after the last request",
        )
    ], judged


def wait_for_rescoring(training_id: int, timeout: float) -> tuple[Any, Any]:
    """(training run, scoring run of the version it activated) once both are over, or what there is at the
    timeout."""
    from classifiers.models import ModelVersion, RunStatus, ScoringRun, TrainingRun

    deadline = time.monotonic() + timeout
    training = scoring = None
    while time.monotonic() < deadline:
        training = TrainingRun.objects.get(pk=training_id)
        if training.status == RunStatus.FAILED:
            break
        version = ModelVersion.objects.filter(training_run_id=training_id).first()
        if version is not None:
            scoring = (
                ScoringRun.objects.filter(model_version=version).select_related("model_version").order_by("-id").first()
            )
            if scoring is not None and scoring.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                break
        time.sleep(0.5)
    return training, scoring


def rescoring_checks(training: Any, scoring: Any, pool: int) -> list[Check]:
    from django.db import connection

    if scoring is None:
        return [
            Check(
                "the retraining and the full pool rescoring completed",
                False,
                f"training {training.status} ({training.message or 'no message'}); no scoring run finished",
            )
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT candidate_id) FROM classifiers_candidatescore "
            "WHERE target = %s AND version_token = %s",
            [scoring.model_version.target, scoring.version_token],
        )
        total, distinct = cursor.fetchone()
    seconds = (scoring.finished_at - training.created_at).total_seconds() if scoring.finished_at else float("nan")
    return [
        Check(
            "the retraining and the full pool rescoring completed (one score per pool candidate)",
            training.status == "succeeded" and scoring.status == "succeeded" and total == distinct == pool,
            f"training {training.status}, scoring {scoring.status}: {total:,} scores of {distinct:,} candidates "
            f"for a pool of {pool:,}; request -> rescored pool {seconds:.1f} s",
        )
    ]


# --- main -------------------------------------------------------------------------------------------------


def _plan(args: argparse.Namespace, tokens: list[str], rng: random.Random) -> list[tuple[str, int, int | None]]:
    """(token, quota, vanish after N answers or None) per annotator; the quotas add up to --answers."""
    base, extra = divmod(args.answers, len(tokens))
    vanishing = set(rng.sample(range(len(tokens)), k=round(len(tokens) * args.vanish_rate)))
    plan = []
    for index, token in enumerate(tokens):
        quota = base + (1 if index < extra else 0)
        # vanish early enough that the lease lapses while the others are still answering
        plan.append((token, quota, rng.randint(0, max(0, quota // 4)) if index in vanishing else None))
    return plan


def main() -> int:
    from benchmarks.production_switches import use_production_pipeline

    use_production_pipeline()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=2_000, help="labelled candidates for the retraining")
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between an annotator's answers")
    parser.add_argument("--retry-rate", type=float, default=0.10)
    parser.add_argument("--vanish-rate", type=float, default=0.05)
    parser.add_argument("--lease-seconds", type=int, default=15)
    parser.add_argument("--max-seconds", type=float, default=300, help="bound on the answering phase")
    parser.add_argument("--rescoring-timeout", type=float, default=600)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--server", type=ServerConfig.parse, default=ServerConfig("gthread", 3, 4))
    parser.add_argument("--database", default="plausi_bench_soak")
    parser.add_argument("--keep-database", action="store_true", help="keep it after a run that passes")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--p99-ms", type=float, default=None, help="also fail when a p99 is above this")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None, help="write the figures and checks here")
    args = parser.parse_args()

    # persistent, health-checked database connections, as production configures them
    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}?conn_max_age=60&conn_health_checks=True"
    var = Path(tempfile.mkdtemp(prefix="plausi-soak-"))
    os.environ.update(
        {
            "PLAUSI_MODEL_ROOT": str(var / "models"),
            "PLAUSI_FEATURE_ROOT": str(var / "features"),
            "TEST_CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
            "TEST_CACHE_URL": f"redis://127.0.0.1:6379/{args.redis_db}",  # the web's shared cache, as in production
            "TEST_CELERY_VISIBILITY_TIMEOUT": "60",
            "ANNOTATION_LEASE_SECONDS": str(args.lease_seconds),
            "CLASSIFIER_MIN_LABELS": "30",
        }
    )
    started = time.perf_counter()
    database_build(
        database=args.database,
        candidates=args.candidates,
        admin_url={"host": "127.0.0.1", "user": "postgres"},
        database_url=database_url,
    )
    from django.db import connection

    from classifiers import services as classifier_services
    from classifiers.models import TrainingRun

    offset = max(0, args.candidates - args.labels)
    labelled = label_candidates(args.labels, offset)
    with connection.cursor() as cursor:
        # these were "annotated before": labelled, out of the queue
        cursor.execute(
            "UPDATE annotation_queueitem SET state = 'closed' WHERE candidate_id IN "
            "(SELECT id FROM knowledge_candidate ORDER BY id OFFSET %s)",
            [offset],
        )
        cursor.execute(
            "UPDATE knowledge_candidate SET status = 'labelled' WHERE id IN "
            "(SELECT id FROM knowledge_candidate ORDER BY id OFFSET %s)",
            [offset],
        )
        cursor.execute(
            "SELECT count(*) FROM knowledge_candidate WHERE status IN ('pooled', 'in_annotation', 'labelled', 'scored')"
        )
        pool = cursor.fetchone()[0]
    annotators = annotators_create("soak", args.annotators)
    known = gold_known_labels()
    print(
        f"setup: {pool:,} scorable candidates, {labelled:,} labelled, {len(annotators)} annotators, "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )

    log_dir = var / "logs"
    log_dir.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "TEST_DATABASE_URL": database_url}
    workers = start_workers(args.workers, env, log_dir)
    gunicorn = WebServer(config=args.server, database_url=database_url, log_path=log_dir / "gunicorn.log")
    result = SoakResult()
    checks: list[Check] = []
    training = scoring = None
    try:
        gunicorn.wait_ready()
        warm_up(gunicorn, annotators[0][1], seconds=3.0)
        rng = random.Random(args.seed)
        plan = _plan(args, [token for _pk, token in annotators], rng)
        processes = max(1, min(args.processes, len(plan)))
        start_at = time.time() + 2.0
        deadline = start_at + args.max_seconds
        specs = [
            {
                "port": gunicorn.port,
                "annotators": plan[index::processes],
                "known": known,
                "seed": args.seed + index,
                "start_at": start_at,
                "deadline": deadline,
                "interval": args.interval,
                "retry_rate": args.retry_rate,
            }
            for index in range(processes)
        ]
        context = multiprocessing.get_context("spawn")
        with context.Pool(processes) as pool_of_clients:
            pending = pool_of_clients.map_async(client_process, specs)
            time.sleep(max(0.0, start_at - time.time()))
            requested = classifier_services.training_run_request(
                target="typical", trigger=TrainingRun.Trigger.MANUAL, force=True
            )
            assert requested is not None, "a training was already in flight"
            load_started = time.perf_counter()
            for part in pending.get(timeout=args.max_seconds + 180):
                _merge(result, part)
            load_seconds = time.perf_counter() - load_started
        print(f"answering phase: {load_seconds:.1f} s", flush=True)
        training, scoring = wait_for_rescoring(requested.pk, args.rescoring_timeout)
        if scoring is not None and scoring.finished_at is not None:
            when = "during" if scoring.finished_at.timestamp() <= result.last_request_at else "after"
            print(f"the rescoring finished {when} the answering phase", flush=True)
    finally:
        gunicorn.stop()
        stop_workers(workers)
    from core.models import ApiToken

    annotator_ids = [pk for pk, _token in annotators]
    assert ApiToken.objects.filter(user_id__in=annotator_ids).values("user_id").distinct().count() == len(annotator_ids)
    checks += answer_checks(result, annotator_ids)
    five_xx = sum(n for status, n in result.statuses.items() if int(status.split()[1]) >= 500)
    checks.append(
        Check(
            "no 5xx and no transport error",
            five_xx == 0 and not result.transport_errors,
            f"responses {dict(sorted(result.statuses.items()))}; 5xx {five_xx} {result.server_errors[:3]}; "
            f"transport errors {dict(result.transport_errors) or 'none'}; refusals {dict(result.refusals) or 'none'}",
        )
    )
    lease_results, leases_judged = lease_checks(result, args.lease_seconds)
    checks += lease_results
    checks += rescoring_checks(training, scoring, pool)
    background_over = (
        scoring.finished_at.timestamp() if scoring is not None and scoring.finished_at is not None else math.inf
    )
    figures = {
        "answers_acknowledged": len(result.acknowledged),
        "answers_sent": result.sent_keys,
        "answers_per_second": len(result.acknowledged) / load_seconds,
        "next_p50_ms": _percentile(result.next_ms, 50),
        "next_p95_ms": _percentile(result.next_ms, 95),
        "next_p99_ms": _percentile(result.next_ms, 99),
        "answer_p50_ms": _percentile(result.answer_ms, 50),
        "answer_p95_ms": _percentile(result.answer_ms, 95),
        "answer_p99_ms": _percentile(result.answer_ms, 99),
        # the same, split at the moment the rescoring finished: while the workers train and score on the same
        # cores, and after
        "answer_p99_ms_during_background_work": _percentile(
            [ms for ms, at in zip(result.answer_ms, result.answer_ended_at, strict=True) if at <= background_over], 99
        ),
        "answer_p99_ms_after_background_work": _percentile(
            [ms for ms, at in zip(result.answer_ms, result.answer_ended_at, strict=True) if at > background_over], 99
        ),
        "retries": result.retries,
        "lost_response_retries": result.lost_response_retries,
        "vanished": len(result.vanished),
        "vanished_leases_judged": leases_judged,
        "load_seconds": load_seconds,
    }
    if args.p99_ms is not None:
        checks.append(
            Check(
                f"p99 of next and of answer <= {args.p99_ms:.0f} ms",
                figures["next_p99_ms"] <= args.p99_ms and figures["answer_p99_ms"] <= args.p99_ms,
                f"next {figures['next_p99_ms']:.1f} ms, answer {figures['answer_p99_ms']:.1f} ms",
            )
        )
    print(
        f"\n{args.annotators} annotators, {result.sent_keys:,} answers sent, {len(result.acknowledged):,} "
        f"acknowledged in {load_seconds:.1f} s ({figures['answers_per_second']:.0f}/s); {result.retries:,} repeated "
        f"and {result.lost_response_retries:,} lost-response submits; {len(result.vanished)} annotators vanished"
    )
    for name in ("next", "answer"):
        print(
            f"  {name:6}: p50 {figures[f'{name}_p50_ms']:.1f} ms  p95 {figures[f'{name}_p95_ms']:.1f} ms  "
            f"p99 {figures[f'{name}_p99_ms']:.1f} ms"
        )
    print(
        f"  answer p99 while the workers trained and scored: {figures['answer_p99_ms_during_background_work']:.1f} ms;"
        f" after: {figures['answer_p99_ms_after_background_work']:.1f} ms"
    )
    for check in checks:
        print(f"  [{'ok' if check.passed else 'FAIL'}] {check.name}: {check.detail}")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "checks": [asdict(c) for c in checks]}, indent=2))
    ok = all(check.passed for check in checks)
    if ok:
        shutil.rmtree(var, ignore_errors=True)
        if not args.keep_database:
            import psycopg

            connection.close()
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    else:
        print(f"logs kept in {log_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
