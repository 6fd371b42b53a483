"""core.foreign_keys against PostgreSQL: a first load checks its foreign keys in one join, and whatever happens the
keys are there afterwards, exactly as before; a table in use, or one that already holds as many rows, keeps its
keys and checks row by row."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from core import foreign_keys
from core.foreign_keys import foreign_keys_checked_in_bulk

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as every transactional test here


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(foreign_keys, "BULK_MIN_ROWS", 3)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE fk_parent (id bigint PRIMARY KEY)")
        cursor.execute("CREATE TABLE fk_other (id bigint PRIMARY KEY)")
        cursor.execute(
            "CREATE TABLE fk_child (id bigint PRIMARY KEY, "
            "parent_id bigint CONSTRAINT fk_child_parent REFERENCES fk_parent (id) DEFERRABLE INITIALLY DEFERRED, "
            "other_id bigint CONSTRAINT fk_child_other REFERENCES fk_other (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        cursor.execute("CREATE INDEX fk_child_by_parent ON fk_child (parent_id, id)")
        cursor.execute("CREATE INDEX fk_child_by_other ON fk_child (other_id) WHERE other_id > 0")
        cursor.execute("CREATE UNIQUE INDEX fk_child_other_unique ON fk_child (other_id, id)")
        cursor.execute("INSERT INTO fk_parent SELECT generate_series(1, 10)")
        cursor.execute("INSERT INTO fk_other VALUES (1)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE fk_child, fk_parent, fk_other")


def keys() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'fk_child'::regclass AND contype = 'f' ORDER BY conname"
        )
        return list(cursor.fetchall())


def children(count: int, *, first: int = 1, parent_of: int | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO fk_child (id, parent_id, other_id) SELECT n, COALESCE(%s::bigint, 1 + n %% 10), 1 "
            "FROM generate_series(%s::bigint, %s::bigint) n",
            [parent_of, first, first + count - 1],
        )


def indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'fk_child' ORDER BY indexname")
        return list(cursor.fetchall())


def child_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fk_child")
        return int(cursor.fetchone()[0])


def test_a_first_load_drops_the_named_keys_and_brings_them_back_exactly(tables: None) -> None:
    before = keys()
    with transaction.atomic():
        with foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk:
            assert in_bulk
            assert [name for name, _ in keys()] == ["fk_child_other"]  # only the named column's key went
            children(5)
        assert keys() == before
    assert keys() == before
    assert child_count() == 5


def test_a_row_without_its_parent_fails_the_load_and_the_keys_stay(tables: None) -> None:
    before = keys()
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk,
    ):
        assert in_bulk
        children(5, parent_of=99)
    assert keys() == before
    assert child_count() == 0


def test_an_error_the_caller_swallows_still_leaves_the_keys_in_place(tables: None) -> None:
    before = keys()
    with transaction.atomic():
        try:
            with foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5):
                children(5)
                raise RuntimeError("the load broke half way")
        except RuntimeError:
            pass
        assert keys() == before  # the drop was rolled back with the rows, inside the caller's transaction
    assert child_count() == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        children(1, parent_of=99)  # and they still check


def test_a_table_that_already_holds_as_many_rows_checks_row_by_row(tables: None) -> None:
    children(5)
    with (
        transaction.atomic(),
        foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk,
    ):
        assert not in_bulk
        assert len(keys()) == 2
        children(5, first=6)
    assert child_count() == 10


def test_a_small_load_or_one_outside_a_transaction_checks_row_by_row(tables: None) -> None:
    with (
        transaction.atomic(),
        foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=2) as in_bulk,
    ):
        assert not in_bulk
    with foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk:
        assert not in_bulk


def test_checks_pending_from_earlier_statements_run_and_still_refuse_a_bad_row(tables: None) -> None:
    # The caller's transaction already inserted into the tables (deferred checks pending): the drop runs them.
    with pytest.raises(IntegrityError), transaction.atomic():
        children(1, first=100, parent_of=99)  # bad, pending
        with foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5):
            children(5)
    assert child_count() == 0
    with transaction.atomic():
        children(1, first=100)  # good, pending
        with foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk:
            assert in_bulk
            children(5)
    assert child_count() == 6


def test_a_table_another_transaction_uses_keeps_its_keys_and_checks_row_by_row(
    tables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foreign_keys, "LOCK_TIMEOUT_MS", 200)
    database = settings.DATABASES["default"]
    holding, release = threading.Event(), threading.Event()

    def reader() -> None:  # an annotator's read of the parent table, in an open transaction
        with psycopg.connect(
            host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"], dbname=database["NAME"]
        ) as other:
            other.execute("SELECT count(*) FROM fk_parent").fetchone()
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with (
            pytest.raises(IntegrityError),
            transaction.atomic(),
            foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk,
        ):
            assert not in_bulk
            children(5, parent_of=99)  # checked at commit, row by row, as always
        assert time.monotonic() - started < 5
    finally:
        release.set()
        thread.join()
    assert len(keys()) == 2
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"  # the session's setting is back


def test_the_setting_turns_it_off(tables: None, settings: Any) -> None:
    settings.BULK_FOREIGN_KEY_CHECKS = False
    with (
        transaction.atomic(),
        foreign_keys_checked_in_bulk(table="fk_child", columns=("parent_id",), rows_coming=5) as in_bulk,
    ):
        assert not in_bulk
        assert len(keys()) == 2


def test_plain_indexes_named_by_column_are_built_again_after_the_load_exactly_as_they_were(tables: None) -> None:
    before = indexes()
    with transaction.atomic():
        with foreign_keys_checked_in_bulk(
            table="fk_child", columns=("parent_id",), rows_coming=5, rebuilt_indexes=("parent_id", "other_id")
        ) as in_bulk:
            assert in_bulk
            # the unique index and the primary key stay (an upsert needs its arbiter); the plain ones went
            assert [name for name, _ in indexes()] == ["fk_child_other_unique", "fk_child_pkey"]
            children(5)
        assert indexes() == before
    assert indexes() == before
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM fk_child WHERE parent_id = 3")
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "fk_child_by_parent" in plan  # built, valid and used


def test_a_failed_load_leaves_the_indexes_in_place(tables: None) -> None:
    before = indexes()
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        foreign_keys_checked_in_bulk(
            table="fk_child", columns=("parent_id",), rows_coming=5, rebuilt_indexes=("parent_id",)
        ) as in_bulk,
    ):
        assert in_bulk
        children(5, parent_of=99)
    assert indexes() == before
