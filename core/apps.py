import random
from typing import Any

from django.apps import AppConfig


def _forget_roles(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A membership change (either side of user <-> group) drops this process's cached roles at once."""
    from core.roles import roles_cache_clear

    if kwargs.get("action", "").startswith("post_"):
        roles_cache_clear(instance.pk if kwargs.get("reverse") is False else None)


def spread_connection_expiry(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Move a new database connection's end (CONN_MAX_AGE) earlier by a random part of up to half its age.

    A connection is closed at the end of the first request after its age; a web process's threads open theirs
    together at start-up, so without a spread they all reconnect in the same second, every CONN_MAX_AGE: a dozen
    new PostgreSQL backends at once, each with cold catalog caches and statements to prepare again (a stall of a
    fraction of a second; benchmarks/annotation_load.py reports the sessions opened)."""
    max_age = connection.settings_dict.get("CONN_MAX_AGE")
    if getattr(connection, "close_at", None) is not None and max_age:
        connection.close_at -= random.uniform(0, max_age / 2)


class CoreConfig(AppConfig):
    """The ground floor: errors, API pieces, roles, the outbox, the run machinery, bulk writes and the cache.
    It imports no other app of the project."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.backends.signals import connection_created
        from django.db.models.signals import m2m_changed, post_save

        from core.task_outcomes import task_outcomes_connect
        from core.tokens import tokens_revoke_on_account_change

        m2m_changed.connect(_forget_roles, sender=get_user_model().groups.through, dispatch_uid="plausi_forget_roles")
        connection_created.connect(spread_connection_expiry, dispatch_uid="plausi_spread_connection_expiry")
        post_save.connect(
            tokens_revoke_on_account_change,
            sender=get_user_model(),
            dispatch_uid="plausi_tokens_revoke_on_account_change",
        )
        task_outcomes_connect()  # counts Celery task outcomes where tasks run (a worker), for /metrics
