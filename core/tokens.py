"""API tokens: services and selectors (models: ``core.models.ApiToken``).

A key is 40 random hex characters (as DRF's were, so clients keep their parsing); the table keeps its SHA-256
digest, which is enough to look a presented key up and useless to anyone who reads the table. Every token expires
(``API_TOKEN_DEFAULT_DAYS``, at most ``API_TOKEN_MAX_DAYS``); a user holds at most ``API_TOKENS_PER_USER``, and
creating one more revokes the oldest (so that a script that exchanges a password for a token on every start
cannot grow the table without bound). A password change or a deactivation revokes all of a user's tokens
(``tokens_revoke_on_account_change``, connected in ``core.apps``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from core.models import ApiToken


def api_token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_expiry(*, days: int | None) -> dt.datetime:
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ApplicationError(f"A token lasts 1 to {settings.API_TOKEN_MAX_DAYS} days.")
    return timezone.now() + dt.timedelta(days=days)


@transaction.atomic
def api_token_create(*, user: Any, name: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with its key, which is never available again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApplicationError("A token name of 1 to 100 characters is required.")
    expires_at = api_token_expiry(days=expires_in_days)
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user, name=name, digest=api_token_digest(key), prefix=key[:8], expires_at=expires_at
    )
    keep = settings.API_TOKENS_PER_USER
    stale = ApiToken.objects.filter(user=user).order_by("-created_at", "-id").values_list("id", flat=True)[keep:]
    ApiToken.objects.filter(id__in=list(stale)).delete()
    return token, key


@transaction.atomic
def api_token_revoke(*, user: Any, token_id: int) -> bool:
    """Revoke one of ``user``'s tokens; False when it has no such token."""
    deleted, _by_model = ApiToken.objects.filter(user=user, id=token_id).delete()
    return deleted > 0


@transaction.atomic
def api_tokens_revoke_all(*, user_id: int) -> int:
    deleted, _by_model = ApiToken.objects.filter(user_id=user_id).delete()
    return int(deleted)


def api_token_list(*, user: Any) -> QuerySet[ApiToken]:
    """The user's tokens, newest first (expired ones included, marked by their expiry)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def tokens_revoke_on_account_change(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """post_save of the user model: a new password (``set_password`` before this save; a hash upgrade at login does
    not count) or a deactivated account ends every API token of the user."""
    if created:
        return
    password_changed = getattr(instance, "_password", None) is not None
    if password_changed or not instance.is_active:
        api_tokens_revoke_all(user_id=instance.pk)
