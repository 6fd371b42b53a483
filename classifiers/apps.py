from django.apps import AppConfig


class ClassifiersConfig(AppConfig):
    name = "classifiers"
    default_auto_field = "django.db.models.BigAutoField"
