"""WSGI entry point (config/web.py serves it: granian, or gunicorn). Single-key serving lookups (serving/fast.py)
and the annotation API's next and answer requests (annotation/fast.py) take lean paths."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application: Any = get_wsgi_application()

from core.unavailable import web_statement_timeout_install  # noqa: E402  (after Django is set up)

web_statement_timeout_install()  # WEB_STATEMENT_TIMEOUT on the web's database connections

from annotation.fast import annotation_fast_path  # noqa: E402  (after Django is set up)
from serving.fast import serving_fast_path  # noqa: E402

application = annotation_fast_path(serving_fast_path(application))
