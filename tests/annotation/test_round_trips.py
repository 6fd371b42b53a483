"""The answer path's round trips: what an answer costs in statements does not depend on the pool or the team.

These counts are the contract behind the latency figures of benchmarks/annotation_load.py: every statement is a
round trip to PostgreSQL, and under load each one is also a wait for the worker's other threads. BEGIN and
COMMIT are not counted (psycopg sends them itself); the token check is. Nor is the answer transaction's ``SET
LOCAL plan_cache_mode`` (core/plans.py, tests/core/test_plans.py): it is sent only by a transaction of its own,
and these tests run inside the test's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation import services
from annotation.models import AnnotatorProfile, Answer, Assignment, QueueItem
from annotation.services import answer_submit, assignment_next, queue_fill
from core.tokens import api_token_digest
from tests.factories import CandidateFactory, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(make_user: Any, answer_path_alone: None) -> APIClient:
    """An annotator's API client with a real token, as the load benchmark and the web UI's script speak; the counts
    are an answer's own (``answer_path_alone``)."""
    for _ in range(4):
        CandidateFactory(status="pooled")
    queue_fill()
    user = make_user("annotator")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    api.get(reverse("api-annotation-next"))  # first request of the process: questions and roles are cached
    return api


def _answer(api: APIClient, step: dict[str, Any], value: bool, key: str) -> tuple[dict[str, Any], list[str]]:
    payload = {"assignment": step["assignment"], "question": step["question"]["slug"], "value": value}
    with CaptureQueriesContext(connection) as captured:
        response = api.post(reverse("api-annotation-answers"), payload | {"idempotency_key": key}, format="json")
    assert response.status_code == 201, response.content
    # in a test the transaction is a savepoint: those two statements stand for BEGIN and COMMIT
    statements = [query["sql"] for query in captured.captured_queries]
    return response.json(), [sql for sql in statements if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the single-statement paths are PostgreSQL's")
def test_an_answer_is_three_statements_and_a_fourth_leases_the_next_candidate_with_its_context(
    client: APIClient,
) -> None:
    step = client.get(reverse("api-annotation-next")).json()["step"]

    # Yes: the pass goes on to the next question of the same candidate; the prefetched lease is still held.
    body, statements = _answer(client, step, True, "k-1")
    assert body["step"]["question"]["slug"] == "relevant"
    assert len(statements) == 3, statements  # token (and roles); lock the lease and read; write everything
    assert statements[0].lstrip().upper().startswith("SELECT") and "core_apitoken" in statements[0]
    assert statements[1].startswith("WITH locked AS MATERIALIZED") and "FOR UPDATE" in statements[1]
    assert statements[2].startswith("WITH w0 AS (INSERT INTO annotation_answer")

    # No: the pass ends; the prefetched candidate becomes current and a new one is leased ahead, its context read
    # in the claim's statement (rendering the response reads nothing more).
    body, statements = _answer(client, body["step"], False, "k-2")
    assert body["step"]["candidate"]["id"] != step["candidate"]["id"]
    assert body["prefetch"]["candidate"]["tail"]
    assert len(statements) == 4, statements
    assert statements[3].startswith("WITH top AS")  # the claim (annotation.sql.CLAIM)
    assert Answer.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the single-statement paths are PostgreSQL's")
def test_next_with_both_steps_already_leased_is_one_read_and_begins_no_transaction(client: APIClient) -> None:
    """What a script that asks for ``next`` after every answer meets most of the time: the current and the
    prefetched candidates are leased already. Then ``next`` reads them and writes nothing, so it begins no
    transaction (in a test a transaction would show as a SAVEPOINT)."""
    first = client.get(reverse("api-annotation-next")).json()
    with CaptureQueriesContext(connection) as captured:
        again = client.get(reverse("api-annotation-next")).json()
    statements = [query["sql"] for query in captured.captured_queries]
    assert again["step"]["assignment"] == first["step"]["assignment"]
    assert again["prefetch"]["assignment"] == first["prefetch"]["assignment"]
    assert not any(sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for sql in statements), statements
    assert len(statements) == 2, statements  # token (and roles); the leases, their candidates and the day's count
    assert "core_apitoken" in statements[0]
    assert "annotation_queueitem" in statements[1]

    # the prefetched lease given back (its page was left): one step is missing, so next claims one, in a transaction
    prefetch = again["prefetch"]
    released = client.post(
        reverse("api-annotation-release"),
        {"leases": [{"assignment": prefetch["assignment"], "token": prefetch["release_token"]}]},
        format="json",
    )
    assert released.status_code == 200, released.content
    with CaptureQueriesContext(connection) as captured:
        claimed = client.get(reverse("api-annotation-next")).json()
    statements = [query["sql"] for query in captured.captured_queries]
    assert claimed["step"]["assignment"] == first["step"]["assignment"]
    assert claimed["prefetch"]["assignment"] not in (first["step"]["assignment"], prefetch["assignment"])
    assert any(sql.startswith("SAVEPOINT") for sql in statements), statements
    assert any(sql.startswith("WITH top AS") for sql in statements), statements  # the claim


def _prepared_statements() -> int:
    """The connection's prepared statements, as the server holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.parametrize("refusal", ["not the current question", "not yours"])
def test_a_refused_answer_keeps_the_connections_prepared_statements(
    client: APIClient, make_user: Any, refusal: str
) -> None:
    """A refusal (409, 403) decided before anything is written commits its read-only transaction instead of
    rolling it back: psycopg answers any rollback by dropping every prepared statement of the connection, and the
    requests after it would parse and plan the whole answer path again (five custom plans each before PostgreSQL
    keeps a generic one). Here the refusals are savepoints of the test's transaction; psycopg treats their
    ROLLBACK TO SAVEPOINT the same way."""
    step = client.get(reverse("api-annotation-next")).json()["step"]
    if connection.connection.prepare_threshold is None:  # DATABASE_PREPARED_STATEMENTS=false
        pytest.skip("prepared statements are turned off")
    for _ in range(6):  # psycopg prepares a statement at its sixth execution on a connection
        assert client.get(reverse("api-annotation-next")).status_code == 200
    prepared = _prepared_statements()
    assert prepared >= 2  # at least the token's statement and the annotator's reading
    answers = Answer.objects.count()

    payload = {"assignment": step["assignment"], "question": step["question"]["slug"], "value": True}
    if refusal == "not the current question":
        payload["question"] = "typical"
        api, expected = client, 409
    else:
        api, expected = APIClient(), 403
        api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(make_user('annotator'))}")
    response = api.post(reverse("api-annotation-answers"), payload | {"idempotency_key": "r-1"}, format="json")

    assert response.status_code == expected, response.content
    assert Answer.objects.count() == answers
    assert _prepared_statements() >= prepared


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.parametrize("refusal", ["skip of another's lease", "skip of an ended lease", "undo of nothing"])
def test_a_refused_skip_or_undo_keeps_the_connections_prepared_statements(
    client: APIClient, make_user: Any, refusal: str
) -> None:
    """As for answers: a skip or an undo refused before anything is written (403, 409) commits what it read."""
    step = client.get(reverse("api-annotation-next")).json()["step"]
    if connection.connection.prepare_threshold is None:  # DATABASE_PREPARED_STATEMENTS=false
        pytest.skip("prepared statements are turned off")
    skip = reverse("api-annotation-skip", args=[step["assignment"]])
    api, url, expected = client, skip, 409
    if refusal == "skip of another's lease":
        api, expected = APIClient(), 403
        api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(make_user('annotator'))}")
    elif refusal == "skip of an ended lease":
        assert client.post(skip).status_code == 200
    else:
        url = reverse("api-annotation-undo")
    for _ in range(6):  # psycopg prepares a statement at its sixth execution on a connection
        assert client.get(reverse("api-annotation-next")).status_code == 200
    prepared = _prepared_statements()
    leases = list(Assignment.objects.order_by("pk").values_list("pk", "status"))

    response = api.post(url)

    assert response.status_code == expected, response.content
    assert list(Assignment.objects.order_by("pk").values_list("pk", "status")) == leases
    assert _prepared_statements() >= prepared


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the single-statement paths are PostgreSQL's")
def test_a_gold_answer_is_scored_in_the_answers_own_statements(client: APIClient, settings: Any) -> None:
    """A gold answer costs what any answer costs: the gold record is kept by the profile write of the answer's
    write statement (it took a locked read and a save more, on a tenth of the answers at the default rate)."""
    gold = CandidateFactory(status="pooled", known_labels={"complete": True})
    queue_fill()
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 1.0}
    for lease in Assignment.objects.filter(status="leased"):
        services.assignment_skip(annotator=lease.annotator, assignment_id=lease.pk)  # the fixture's, not gold
    step = client.get(reverse("api-annotation-next")).json()["step"]
    assert step["candidate"]["id"] == gold.pk

    _body, statements = _answer(client, step, False, "g-1")  # wrong: the known answer is Yes

    # token; lock and read; write everything. The pass ended, so a claim follows (twice here: no gold is left for
    # this annotator, so it looks for gold, then for the rest)
    answer_own = [sql for sql in statements if not sql.startswith("WITH top AS")]
    assert len(answer_own) == 3, answer_own
    assert answer_own[2].startswith("WITH w0 AS (INSERT INTO annotation_answer")
    profile = AnnotatorProfile.objects.get(
        user__api_tokens__digest=api_token_digest(client._credentials["HTTP_AUTHORIZATION"][6:])
    )
    assert (profile.gold_correct, profile.gold_total, profile.answered_that_day) == (0, 1, 1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the single-statement paths are PostgreSQL's")
def test_a_gold_candidate_reads_only_the_annotators_own_rows_however_many_answered_it(make_user: Any) -> None:
    gold = CandidateFactory(status="pooled", known_labels={"complete": True, "relevant": False})
    queue_fill()
    for number in range(12):
        someone = make_user("annotator", username=f"gold-{number}")
        step = assignment_next(annotator=someone)
        assert step is not None and step.assignment.candidate_id == gold.pk
        answer_submit(
            annotator=someone,
            assignment_id=step.assignment.pk,
            question_slug="complete",
            value=True,
            idempotency_key="k",
        )
    newcomer = make_user("annotator", username="newcomer")
    step = assignment_next(annotator=newcomer)
    assert step is not None and step.question.slug == "complete"  # gold asks every question, in order
    with CaptureQueriesContext(connection) as captured:
        result = answer_submit(
            annotator=newcomer,
            assignment_id=step.assignment.pk,
            question_slug="complete",
            value=True,
            idempotency_key="k",
        )
    assert result.created and result.next_step is not None and result.next_step.question.slug == "relevant"
    read = next(query for query in captured.captured_queries if "SELECT 'a', s.candidate_id" in query["sql"])
    plan = _explained(read["sql"])  # the same statement, explained: no scan of the team's answers or leases
    scanned = _rows_read(plan, ("annotation_answer", "annotation_assignment"))
    # the lease locked (by id, and for its candidate), then the newcomer's one lease (read as a lease, a pass and a
    # holder) and answer: 7 rows however many answered, where reading the team's rows took 29 with twelve others
    assert scanned <= 7, plan
    assert Assignment.objects.filter(candidate=gold).count() == 13


def _explained(sql: str) -> dict[str, Any]:
    """The root node of EXPLAIN ANALYZE of ``sql``, which runs it (its writes stay in the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        return cursor.fetchone()[0][0]["Plan"]


def _rows_read(node: dict[str, Any], tables: tuple[str, ...]) -> int:
    """Rows that scans of ``tables`` returned, or removed by a filter, anywhere in an EXPLAIN ANALYZE plan."""
    own = 0
    if node.get("Relation Name") in tables:
        loops = node.get("Actual Loops", 1)
        own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
    return own + sum(_rows_read(child, tables) for child in node.get("Plans", []))


def _clone_candidates(template: Any, count: int) -> None:
    """``count`` pooled copies of ``template`` in one statement (a pool large enough for the planner to weigh)."""
    columns = [f.column for f in type(template)._meta.concrete_fields if f.column not in ("id", "dedup_key")]
    listed = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO knowledge_candidate (dedup_key, {listed}) "  # noqa: S608 (model metadata only)
            f"SELECT 'clone-' || g, {listed} FROM knowledge_candidate, generate_series(1, %s) g WHERE id = %s",
            [count, template.pk],
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the single-statement paths are PostgreSQL's")
def test_an_answer_reaches_its_queue_item_by_key_whatever_the_statistics_say(make_user: Any) -> None:
    """The planner statistics a load run starts with (ANALYZE when the leases were few and on the first
    candidates) must not turn the lease -> queue item lookups into a walk along the queue (PLAN_STABLE_JOINS)."""
    _clone_candidates(CandidateFactory(status="pooled"), 5_000)
    queue_fill()
    for number in range(20):  # the first leases, on the first candidates of the queue
        assert assignment_next(annotator=make_user("annotator", username=f"early-{number}")) is not None
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotation_assignment, annotation_queueitem")
    late = max(QueueItem.objects.values_list("candidate_id", flat=True))
    QueueItem.objects.filter(candidate_id=late).update(priority=10.0**9)  # leased next, far along the queue
    annotator = make_user("annotator", username="late")
    step = assignment_next(annotator=annotator)
    assert step is not None and step.assignment.candidate_id == late

    with CaptureQueriesContext(connection) as captured:
        answer_submit(
            annotator=annotator,
            assignment_id=step.assignment.pk,
            question_slug=step.question.slug,
            value=True,
            idempotency_key="k",
        )
    statements = [query["sql"] for query in captured.captured_queries]
    (read,) = [sql for sql in statements if sql.startswith("WITH locked")]  # lock the lease, read states and leases
    plan = _explained(read)
    assert _rows_read(plan, ("annotation_queueitem",)) <= 8, plan  # by key: 2 leases, the lock, not 5,000

    # The sweep of lapsed leases reaches their queue items by key too (it runs inside answers, once a second).
    Assignment.objects.filter(pk=step.assignment.pk).update(lease_expires_at=timezone.now() - dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        assert services.leases_expire() == 1
        transaction.set_rollback(True)  # run for real below, explained
    (sweep,) = [query["sql"] for query in captured.captured_queries if "lapsed" in query["sql"]]
    plan = _explained(sweep)
    assert _rows_read(plan, ("annotation_queueitem",)) <= 4, plan  # the lapsed one, locked and updated
    assert Assignment.objects.get(pk=step.assignment.pk).status == "expired"
