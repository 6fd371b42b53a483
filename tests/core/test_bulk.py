"""core.bulk against PostgreSQL: a set-column pass rewrites only the rows whose value changes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import connection

from core.bulk import float_column_set, key_values_copy, rows_set_column
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


def test_key_values_copy_writes_the_arrays_exactly_through_the_binary_copy() -> None:
    keys = np.array([3, 2**40 + 7, -5, 1], dtype=np.int64)
    values = np.array([0.1, -2.5e300, 0.0, 1 / 3], dtype=np.float64)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE copied (k bigint, v double precision)")
        assert key_values_copy(table="copied", keys=keys, values=values) == 4
        cursor.execute("SELECT k, v FROM copied")
        assert sorted(cursor.fetchall()) == sorted(zip(keys.tolist(), values.tolist(), strict=True))
    with pytest.raises(ValueError, match="differ in length"):
        key_values_copy(table="copied", keys=keys, values=values[:2])


def test_float_column_set_from_arrays_rewrites_only_changed_rows() -> None:
    queries = [SearchQuery.objects.create(text=f"query {i}", normalized_text=f"query {i}") for i in range(2)]
    ids = np.array([query.pk for query in queries], dtype=np.int64)
    float_column_set(
        table="knowledge_searchquery", key="id", column="specificity", keys=ids, values=np.array([0.5, 0.5])
    )
    before = versions()
    float_column_set(
        table="knowledge_searchquery", key="id", column="specificity", keys=ids, values=np.array([0.5, 0.75])
    )
    after = versions()
    assert dict(SearchQuery.objects.values_list("pk", "specificity")) == {queries[0].pk: 0.5, queries[1].pk: 0.75}
    assert after[queries[0].pk] == before[queries[0].pk] and after[queries[1].pk] != before[queries[1].pk]
