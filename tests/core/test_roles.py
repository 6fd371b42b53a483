"""Roles are read with the user by token authentication, and otherwise cached briefly per process (a membership
change in this process takes effect at once)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core import roles
from tests.factories import UserFactory, api_key_for

pytestmark = pytest.mark.django_db


def test_removing_a_role_takes_effect_at_once_in_the_process_that_made_the_change() -> None:
    user = UserFactory(role="curator")
    assert roles.user_roles(user) == {"curator"}
    user.groups.remove(Group.objects.get(name="curator"))
    assert roles.user_roles(user) == frozenset()
    Group.objects.get(name="annotator").user_set.add(user)  # the reverse side of the relation
    assert roles.user_roles(user) == {"annotator"}


def test_a_change_made_elsewhere_is_seen_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    user = UserFactory(role="annotator")
    assert roles.user_roles(user) == {"annotator"}
    through = type(user).groups.through
    through.objects.filter(user=user).delete()  # a bulk delete sends no m2m signal (like another process)
    assert roles.user_roles(user) == {"annotator"}  # still cached
    now = roles.time.monotonic()
    monkeypatch.setattr(roles.time, "monotonic", lambda: now + roles.ROLES_TTL_SECONDS + 1)
    assert roles.user_roles(user) == frozenset()


def test_superusers_count_as_admins_and_inactive_users_have_no_role() -> None:
    admin = UserFactory(role="admin")
    assert "admin" in roles.user_roles(admin)
    admin.is_active = False
    assert roles.user_roles(admin) == frozenset()


def test_a_token_request_reads_the_roles_with_the_user_so_a_change_made_elsewhere_counts_at_once(
    make_user: Any,
) -> None:
    """Token authentication reads the role groups in its own statement: no cache to wait for, no extra query."""
    user = make_user("curator")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    with CaptureQueriesContext(connection) as captured:
        response = api.get(reverse("api-me"))
    assert response.status_code == 200 and response.json()["roles"] == ["curator"]
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 1, captured.captured_queries  # the token, the user, the roles
    assert roles.user_roles(user) == {"curator"}  # as a session-authenticated page reads them: cached
    type(user).groups.through.objects.filter(user=user).delete()  # no signal: as another process would
    assert roles.user_roles(user) == {"curator"}  # the page trusts its cache a few seconds more
    assert api.get(reverse("api-me")).status_code == 403
    Group.objects.get(name="annotator").user_set.add(user)
    assert api.get(reverse("api-me")).json()["roles"] == ["annotator"]
