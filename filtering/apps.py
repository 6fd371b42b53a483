from django.apps import AppConfig


class FilteringConfig(AppConfig):
    name = "filtering"
    default_auto_field = "django.db.models.BigAutoField"
