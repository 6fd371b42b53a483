"""Roles are cached briefly per process; a membership change in this process takes effect at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from knowledge import roles
from tests.factories import UserFactory

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
