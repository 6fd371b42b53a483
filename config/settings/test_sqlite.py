"""Test settings on the embedded default's database: SQLite (a file under var/) and a Celery broker on the file
system, as ``make demo`` runs. ``make test`` runs the tests marked ``sqlite`` a second time with these settings
(``DJANGO_SETTINGS_MODULE=config.settings.test_sqlite pytest -m sqlite``), so that every code path that forks on
``connection.vendor`` runs on both databases; nothing here needs a server.

The rest (password hashing, model folders, the pipeline's hand-offs off, heartbeats) is as config.settings.test.
"""

from config.settings.base import sqlite_options
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
_BROKER_DIR = _VAR / f"test-sqlite-broker-{CHECKOUT_ID}"
CELERY_BROKER_URL = "filesystem://"
# kombu's file-system transport with atomic writes (core/broker_filesystem.py: the stock one lets a worker read a
# message before it is written, and the worker then stops).
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "core.broker_filesystem:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_BROKER_DIR / "queue"),
    "data_folder_out": str(_BROKER_DIR / "queue"),
    "control_folder": str(_BROKER_DIR / "control"),
    "store_processed": False,
}
for _folder in ("queue", "control"):
    (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
