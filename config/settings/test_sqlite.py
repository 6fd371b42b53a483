"""Test settings on the embedded default's database: SQLite (a file under var/) and a Celery broker on the file
system, as ``make demo`` runs. ``make test`` runs the tests marked ``sqlite`` a second time with these settings
(``DJANGO_SETTINGS_MODULE=config.settings.test_sqlite pytest -m sqlite``), so that every code path that forks on
``connection.vendor`` runs on both databases; nothing here needs a server.

The rest (password hashing, model folders, the pipeline's hand-offs off, heartbeats) is as config.settings.test.
"""

from config.settings.base import FILESYSTEM_BROKER_TRANSPORT, filesystem_broker_options, sqlite_options
from config.settings.test import *  # noqa: F403
from config.settings.test import BASE_DIR, CHECKOUT_ID

_VAR = BASE_DIR / "var"
_VAR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_VAR / f"sqlite-{CHECKOUT_ID}.sqlite3"),
        # a file, not memory: a live server's threads and subprocesses share it as the demo's web and worker do
        "TEST": {"NAME": str(_VAR / f"test-sqlite-{CHECKOUT_ID}.sqlite3")},
        "OPTIONS": sqlite_options(),
    }
}

# The demo's broker: a folder. Tests that need a running worker are PostgreSQL and Redis tests (not marked sqlite).
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT = FILESYSTEM_BROKER_TRANSPORT
CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(_VAR / f"test-sqlite-broker-{CHECKOUT_ID}")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
