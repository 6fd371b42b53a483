"""Persistent database connections end at spread times, so a web process's threads never reconnect together."""

from __future__ import annotations

import time

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db


def test_new_connections_end_between_half_and_all_of_their_age_and_not_together() -> None:
    max_age = 600
    ends = []
    for _ in range(12):  # a web process's threads, connecting at start-up
        wrapper = connections.create_connection("default")
        wrapper.settings_dict = {**wrapper.settings_dict, "CONN_MAX_AGE": max_age}
        before = time.monotonic()
        wrapper.connect()
        try:
            assert wrapper.close_at is not None
            assert before + max_age / 2 <= wrapper.close_at <= time.monotonic() + max_age
            ends.append(wrapper.close_at - before)
        finally:
            wrapper.close()
    assert max(ends) - min(ends) > max_age / 20, ends  # spread, not within the same second


def test_a_connection_without_an_age_is_left_alone() -> None:
    wrapper = connections.create_connection("default")
    wrapper.settings_dict = {**wrapper.settings_dict, "CONN_MAX_AGE": 0}
    wrapper.connect()
    try:
        assert wrapper.close_at is not None and wrapper.close_at <= time.monotonic()  # closes after each request
    finally:
        wrapper.close()
