"""The three roles. Each is a Django group created by a migration; a superuser counts as an admin."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    ANNOTATOR = "annotator"
    CURATOR = "curator"
    ADMIN = "admin"


ALL_ROLES: tuple[Role, ...] = (Role.ANNOTATOR, Role.CURATOR, Role.ADMIN)


def user_roles(user: Any) -> frozenset[str]:
    """The roles of a user, cached on the user object for the length of a request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_plausi_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=[role.value for role in ALL_ROLES]).values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN.value)
        cached = frozenset(names)
        user._plausi_roles = cached
    return cached


def user_has_role(user: Any, *roles: Role) -> bool:
    return bool(user_roles(user) & {role.value for role in roles})
