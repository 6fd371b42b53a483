"""Generic plans for the answer's transaction (core/plans.py): the lock-and-read statement is planned once per
connection, not at every answer. On PostgreSQL only; transactional, because the setting is taken only by a
transaction of its own (a test's enclosing transaction would keep it past the answer)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.services import queue_fill
from core.plans import generic_plans_for_this_transaction
from tests.factories import CandidateFactory, api_key_for

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="plan_cache_mode is PostgreSQL's"),
]


@pytest.fixture
def prepared_statements() -> None:
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:  # DATABASE_PREPARED_STATEMENTS=false: nothing to set
        pytest.skip("prepared statements are turned off")


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return str(cursor.fetchone()[0])


def test_the_setting_lasts_for_the_outermost_transaction_only(prepared_statements: None) -> None:
    assert _plan_cache_mode() == "auto"
    with transaction.atomic():
        assert generic_plans_for_this_transaction() is True
        assert _plan_cache_mode() == "force_generic_plan"
        with transaction.atomic():  # a nested block (a savepoint) does not set it again
            assert generic_plans_for_this_transaction() is False
    assert _plan_cache_mode() == "auto"  # SET LOCAL ended with the transaction
    assert generic_plans_for_this_transaction() is False  # outside a transaction: nothing to scope it to


def test_inside_an_enclosing_transaction_nothing_is_set() -> None:
    with transaction.atomic(), transaction.atomic():
        assert generic_plans_for_this_transaction() is False
        assert _plan_cache_mode() == "auto"


def test_the_answers_lock_and_read_is_never_planned_again_once_prepared(
    make_user: Any, answer_path_alone: None, prepared_statements: None
) -> None:
    """psycopg prepares a statement at its sixth execution on a connection. Left to PostgreSQL (``auto``), the
    prepared lock-and-read gets at least five custom plans (on the load benchmark's database it got one at every
    answer: its generic plan's estimate is never the lower); in the answer's transaction it gets none."""
    for _ in range(6):
        CandidateFactory(status="pooled")
    queue_fill()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(make_user('annotator'))}")
    step = api.get(reverse("api-annotation-next")).json()["step"]
    for number in range(12):  # Yes to every question: the pass goes on, and on to the next candidate
        payload = {"assignment": step["assignment"], "question": step["question"]["slug"], "value": True}
        response = api.post(
            reverse("api-annotation-answers"), payload | {"idempotency_key": f"p-{number}"}, format="json"
        )
        assert response.status_code == 201, response.content
        step = response.json()["step"]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["WITH locked AS MATERIALIZED%"],
        )
        plans = cursor.fetchall()
    assert plans, "the lock-and-read was never prepared"
    assert sum(generic for generic, _custom in plans) >= 1
    assert sum(custom for _generic, custom in plans) == 0, plans
