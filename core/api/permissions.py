"""DRF permissions by role. Anonymous users and users without a role get nothing anywhere."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from core.roles import ALL_ROLES, Role, user_has_role


class _RolePermission(BasePermission):
    roles: tuple[Role, ...] = ALL_ROLES
    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_has_role(request.user, *self.roles)


class HasAnyRole(_RolePermission):
    """Any annotator, curator or admin (the default for every endpoint)."""


class IsCuratorOrAdmin(_RolePermission):
    roles = (Role.CURATOR, Role.ADMIN)


class IsAdmin(_RolePermission):
    roles = (Role.ADMIN,)
