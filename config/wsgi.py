"""WSGI entry point (gunicorn config.wsgi). Single-key serving lookups take the lean path (serving/fast.py)."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application: Any = get_wsgi_application()

from serving.fast import serving_fast_path  # noqa: E402  (after Django is set up)

application = serving_fast_path(application)
