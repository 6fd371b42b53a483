"""API token authentication in one prepared statement (DRF's builds a queryset with select_related per request),
which also reads the user's roles (core.roles): an API request needs no other query to be authorised.

The presented key is looked up by its SHA-256 digest (core/tokens.py); an expired token, an inactive user or an
unknown key is refused with 401."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core.models import ApiToken
from core.roles import KNOWN_ROLES, roles_read_with_user
from core.tokens import api_token_digest


def _token_instance(token_id: int, user: Any) -> ApiToken:
    """The presented token as ``request.auth``: its id and its user, the other fields deferred (no defaults are
    computed for them on the answer path). It points at its user and not back (a foreign key's reverse side is not
    cached), so the request leaves no reference cycle (core.api.fast.ReleaseCyclesMixin)."""
    token = ApiToken.from_db(connection.alias, ["id", "user_id"], (token_id, user.pk))
    ApiToken.user.field.set_cached_value(token, user)
    return token


class FastTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, checked against the database on every request (a revoked token stops
    working at once). On PostgreSQL the token and its user are read with one raw statement and the user is built
    with ``Model.from_db`` (psycopg already returns Python values for every column of the user table); other
    databases read them through the ORM. ``request.auth`` is the ``ApiToken`` presented."""

    _statement: tuple[str, list[str]] | None = None  # (SQL, attribute names), built once per process

    @classmethod
    def _query(cls) -> tuple[str, list[str]]:
        if cls._statement is None:
            user_model = get_user_model()
            fields = list(user_model._meta.concrete_fields)
            columns = ", ".join(f"u.{connection.ops.quote_name(str(field.column))}" for field in fields)
            from django.contrib.auth.models import Group

            memberships, groups = user_model.groups.through._meta.db_table, Group._meta.db_table
            roles = ", ".join(f"'{role.value}'" for role in KNOWN_ROLES)
            # Names come from the user model's metadata and the Role enum; the digest is a parameter.
            sql = (
                f"SELECT {columns}, ARRAY(SELECT g.name FROM {memberships} m JOIN {groups} g ON g.id = m.group_id "  # noqa: S608
                f"WHERE m.user_id = u.id AND g.name IN ({roles})), t.id "
                f"FROM {ApiToken._meta.db_table} t JOIN {user_model._meta.db_table} u ON u.id = t.user_id "
                "WHERE t.digest = %s AND t.expires_at > now()"
            )
            cls._statement = (sql, [field.attname for field in fields])
        return cls._statement

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        digest = api_token_digest(key)
        if connection.vendor != "postgresql":
            return self._authenticate_with_orm(digest)
        sql, attnames = self._query()
        with connection.cursor() as cursor:
            cursor.execute(sql, [digest])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = get_user_model().from_db(connection.alias, attnames, row[:-2])
        roles_read_with_user(user, row[-2])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = _token_instance(row[-1], user)
        return user, token

    @staticmethod
    def _authenticate_with_orm(digest: str) -> tuple[Any, Any]:
        """The same contract on other databases (SQLite: the demo): the token, its user and the user's roles (read
        with the user, so that a role change made elsewhere counts at once, as on PostgreSQL), and no reference
        cycle (reading the token with ``select_related("user")`` left three objects per request for the garbage
        collector: tests/core/test_api_fast.py)."""
        from django.contrib.auth.models import Group

        found = (
            ApiToken.objects.filter(digest=digest, expires_at__gt=timezone.now()).values_list("id", "user_id").first()
        )
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token_id, user_id = found
        user = get_user_model()._default_manager.get(pk=user_id)
        names = Group.objects.filter(user__id=user.pk, name__in=[role.value for role in KNOWN_ROLES])
        roles_read_with_user(user, list(names.values_list("name", flat=True)))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = _token_instance(token_id, user)
        return user, token
