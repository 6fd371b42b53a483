"""Accounts with a role."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.errors import ApplicationError
from core.roles import Role


def _random_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def user_create(
    *,
    username: str,
    role: Role,
    password: str | None = None,
    email: str = "",
    reset_existing: bool = False,
) -> tuple[AbstractUser, str]:
    """Create a user in exactly one role group and return it with its password (generated when not given).

    Admins also get ``is_staff`` and ``is_superuser`` so that the Django admin shows them every model. With
    ``reset_existing`` an existing user of that name is given the role and the new password instead of an error.
    """
    user_model = get_user_model()
    if not username or len(username) > 150:
        raise ApplicationError("A username of 1 to 150 characters is required.")
    password = password or _random_password()
    user = user_model.objects.filter(username=username).first()
    if user is not None and not reset_existing:
        raise ApplicationError(f"A user named {username!r} already exists.")
    if user is None:
        user = user_model(username=username, email=email)
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    user.is_active = True
    user.set_password(password)
    user.save()
    role_groups = Group.objects.filter(name__in=[member.value for member in Role])
    user.groups.remove(*role_groups)
    try:
        user.groups.add(Group.objects.get(name=role.value))
    except Group.DoesNotExist as exc:
        raise ApplicationError(f"The role group {role.value!r} is missing; run the migrations.") from exc
    return user, password


@transaction.atomic
def token_issue(*, user: Any) -> str:
    """The user's API token, created on first use (one per user; ``token_revoke`` ends it)."""
    token, _created = Token.objects.get_or_create(user=user)
    return str(token.key)


@transaction.atomic
def token_revoke(*, user: Any) -> int:
    """Delete the user's API token: every request with it fails from now on. Returns how many were deleted."""
    deleted, _by_model = Token.objects.filter(user=user).delete()
    return int(deleted)
