"""core.bulk against PostgreSQL: a set-column pass rewrites only the rows whose value changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from core.bulk import rows_set_column
from knowledge.models import SearchQuery

pytestmark = pytest.mark.django_db


def versions() -> dict[int, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text FROM knowledge_searchquery")
        return dict(cursor.fetchall())


def test_setting_a_column_writes_new_values_and_leaves_rows_that_already_hold_them_untouched() -> None:
    queries = [SearchQuery.objects.create(text=f"query {i}", normalized_text=f"query {i}") for i in range(3)]
    rows_set_column(
        table="knowledge_searchquery",
        key="id",
        column="specificity",
        sql_type="double precision",
        rows=[(query.pk, 0.5) for query in queries],
    )
    before = versions()

    given = rows_set_column(
        table="knowledge_searchquery",
        key="id",
        column="specificity",
        sql_type="double precision",
        rows=[(queries[0].pk, 0.5), (queries[1].pk, 0.25), (queries[2].pk, None)],
    )

    assert given == 3
    assert dict(SearchQuery.objects.values_list("pk", "specificity")) == {
        queries[0].pk: 0.5,
        queries[1].pk: 0.25,
        queries[2].pk: None,
    }
    after = versions()
    assert after[queries[0].pk] == before[queries[0].pk]  # same value: no new row version
    assert after[queries[1].pk] != before[queries[1].pk]
    assert after[queries[2].pk] != before[queries[2].pk]
