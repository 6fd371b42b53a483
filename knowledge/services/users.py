"""Accounts with a role."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

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
    ``reset_existing`` an existing user of that name is given the role and the new password instead of an error
    (which also revokes its API tokens, core/tokens.py). A given password must pass ``AUTH_PASSWORD_VALIDATORS``.
    """
    user_model = get_user_model()
    if not username or len(username) > 150:
        raise ApplicationError("A username of 1 to 150 characters is required.")
    user = user_model.objects.filter(username=username).first()
    if user is not None and not reset_existing:
        raise ApplicationError(f"A user named {username!r} already exists.")
    if user is None:
        user = user_model(username=username, email=email)
    if password:
        try:  # AUTH_PASSWORD_VALIDATORS, as every other way to set a password applies them
            validate_password(password, user)
        except ValidationError as exc:
            raise ApplicationError("The password is refused: " + " ".join(exc.messages)) from exc
    else:
        password = _random_password()
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
