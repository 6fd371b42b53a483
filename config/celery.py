"""The Celery app. Settings come from Django's settings under the ``CELERY_`` namespace; without
DJANGO_SETTINGS_MODULE a worker uses production's (as manage.py and WSGI do), which refuse to start unconfigured."""

import os

from celery import Celery

# whether the environment named the settings (the `plausi` command's default for `plausi demo` reads it)
SETTINGS_FROM_ENVIRONMENT = bool(os.environ.get("DJANGO_SETTINGS_MODULE"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("plausi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
