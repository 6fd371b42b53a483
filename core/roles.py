"""The three roles. Each is a Django group created by a migration; a superuser counts as an admin."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    ANNOTATOR = "annotator"
    CURATOR = "curator"
    ADMIN = "admin"
    SERVING = "serving"  # a serving client (search, recommendation): the serving API only (docs/serving.md)


#: The people's roles: any of them opens the platform's API and pages (``HasAnyRole``).
ALL_ROLES: tuple[Role, ...] = (Role.ANNOTATOR, Role.CURATOR, Role.ADMIN)
#: Every role a user may hold, read with the user; ``serving`` opens only the routes that name it.
KNOWN_ROLES: tuple[Role, ...] = (*ALL_ROLES, Role.SERVING)


#: How long a process trusts the group memberships it read (a role change takes effect within this time, at
#: once in the process that made it); saves a query on every API request.
ROLES_TTL_SECONDS = 5.0
_group_roles: dict[int, tuple[float, frozenset[str]]] = {}


def _groups_of(user_id: int) -> frozenset[str]:
    now = time.monotonic()
    found = _group_roles.get(user_id)
    if found is not None and found[0] > now:
        return found[1]
    from django.contrib.auth.models import Group

    names = frozenset(
        Group.objects.filter(user__id=user_id, name__in=[role.value for role in KNOWN_ROLES]).values_list(
            "name", flat=True
        )
    )
    if len(_group_roles) > 100_000:
        _group_roles.clear()
    _group_roles[user_id] = (now + ROLES_TTL_SECONDS, names)
    return names


def roles_cache_clear(user_id: int | None = None) -> None:
    if user_id is None:
        _group_roles.clear()
    else:
        _group_roles.pop(user_id, None)


_READ_WITH_USER = "_role_groups_read_with_user"


def roles_read_with_user(user: Any, names: list[str]) -> None:
    """Attach the role groups read in the same statement as ``user`` (token authentication does): they are as
    fresh as the user row, and ``user_roles`` then needs neither a query nor the per-process cache."""
    setattr(user, _READ_WITH_USER, frozenset(names))


def user_roles(user: Any) -> frozenset[str]:
    """The roles of an active user: their role groups (read with the user, else cached briefly per process), plus
    admin for a superuser."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    roles = getattr(user, _READ_WITH_USER, None)
    if roles is None:
        roles = _groups_of(user.pk)
    return roles | {Role.ADMIN.value} if user.is_superuser else roles


def user_has_role(user: Any, *roles: Role) -> bool:
    return bool(user_roles(user) & {role.value for role in roles})
