"""The embedded demo: SQLite and a Celery broker on the file system, so nothing needs a server.

Selected with DJANGO_SETTINGS_MODULE=config.settings.local (``make demo`` sets it); it is for one person's machine,
never for deployment (production is the default everywhere).
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR, env, sqlite_options

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="plausi-local-demo-only-not-secret")

# A kombu transport on the file system: a real broker for a real worker, with no server to run.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_BROKER_DIR = VAR_DIR / "broker"
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
VAR_DIR.mkdir(parents=True, exist_ok=True)
for _folder in ("queue", "control"):
    (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'plausi.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and the worker share one file: wait for the other's write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(sqlite_options())
