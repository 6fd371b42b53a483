from typing import Any

from django.apps import AppConfig


def _forget_roles(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A membership change (either side of user <-> group) drops this process's cached roles at once."""
    from knowledge.roles import roles_cache_clear

    if kwargs.get("action", "").startswith("post_"):
        roles_cache_clear(instance.pk if kwargs.get("reverse") is False else None)


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Knowledge"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed

        m2m_changed.connect(_forget_roles, sender=get_user_model().groups.through, dispatch_uid="plausi_forget_roles")
