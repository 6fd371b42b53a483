from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The embedded demo: its data set, the seeded generator that made it, and ``manage.py demo``."""

    name = "demo"
    verbose_name = "Demo"
