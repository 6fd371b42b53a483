"""The embedded demo: SQLite and a Celery broker on the file system, so nothing needs a server.

Selected with DJANGO_SETTINGS_MODULE=config.settings.local (``make demo`` sets it); it is for one person's machine,
never for deployment (production is the default everywhere).
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    FILESYSTEM_BROKER_TRANSPORT,
    VAR_DIR,
    env,
    filesystem_broker_options,
    sqlite_options,
)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="plausi-local-demo-only-not-secret")

# A kombu transport on the file system: a real broker for a real worker, with no server to run.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = FILESYSTEM_BROKER_TRANSPORT
CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'plausi.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and the worker share one file: wait for the other's write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(sqlite_options())
