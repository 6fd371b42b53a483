"""API token authentication in one prepared statement (DRF's builds a queryset with select_related per request),
which also reads the user's roles (core.roles): an API request needs no other query to be authorised."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.roles import ALL_ROLES, roles_read_with_user


class FastTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, checked against the database on every request (a deleted token stops
    working at once). On PostgreSQL the token and its user are read with one raw statement and the user is built
    with ``Model.from_db`` (psycopg already returns Python values for every column of the user table); other
    databases take DRF's own path."""

    _statement: tuple[str, list[str]] | None = None  # (SQL, attribute names), built once per process

    @classmethod
    def _query(cls) -> tuple[str, list[str]]:
        if cls._statement is None:
            user_model = get_user_model()
            fields = list(user_model._meta.concrete_fields)
            columns = ", ".join(f"u.{connection.ops.quote_name(str(field.column))}" for field in fields)
            from django.contrib.auth.models import Group

            memberships, groups = user_model.groups.through._meta.db_table, Group._meta.db_table
            roles = ", ".join(f"'{role.value}'" for role in ALL_ROLES)
            # Names come from the user model's metadata and the Role enum; the key is a parameter.
            sql = (
                f"SELECT {columns}, ARRAY(SELECT g.name FROM {memberships} m JOIN {groups} g ON g.id = m.group_id "  # noqa: S608
                f"WHERE m.user_id = u.id AND g.name IN ({roles})) "
                f"FROM authtoken_token t JOIN {user_model._meta.db_table} u ON u.id = t.user_id WHERE t.key = %s"
            )
            cls._statement = (sql, [field.attname for field in fields])
        return cls._statement

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if connection.vendor != "postgresql":
            return self._authenticate_portably(key)
        sql, attnames = self._query()
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = get_user_model().from_db(connection.alias, attnames, row[:-1])
        roles_read_with_user(user, row[-1])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # ``Token(user=user)`` would also cache the token on the user (a one-to-one's reverse side): a reference
        # cycle per request that only the garbage collector frees (core.api.fast.ReleaseCyclesMixin).
        token = Token(key=key, user_id=user.pk)
        Token.user.field.set_cached_value(token, user)
        return user, token

    def _authenticate_portably(self, key: str) -> tuple[Any, Any]:
        """The same contract on other databases (SQLite: the demo): the user with its token (two statements, the
        roles read with the user so that a role change made elsewhere counts at once, as on PostgreSQL), and no
        reference cycle between the token and its user (DRF's select_related caches each on the other)."""
        from django.contrib.auth.models import Group

        try:
            user = get_user_model()._default_manager.get(auth_token__key=key)
        except get_user_model().DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        names = Group.objects.filter(user__id=user.pk, name__in=[role.value for role in ALL_ROLES])
        roles_read_with_user(user, list(names.values_list("name", flat=True)))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user_id=user.pk)
        Token.user.field.set_cached_value(token, user)
        return user, token
