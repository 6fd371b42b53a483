"""Production: PostgreSQL from DATABASE_URL, Redis from CELERY_BROKER_URL, served by the web process
(config/web.py: granian, or gunicorn).

Refuses to start with a missing or default secret key, DEBUG on, or no database/broker configured.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import MIDDLEWARE, VAR_DIR, env, postgres_tuning

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production settings.")

# Production is the default settings module everywhere (manage.py, Celery, WSGI): without its configuration nothing
# starts, instead of a worker quietly running the demo's SQLite with DEBUG on.
_DEMO_HINT = " (For the embedded demo, run `make demo`, or set DJANGO_SETTINGS_MODULE=config.settings.local.)"
# Words that only a placeholder or an example contains (.env.example's key among them).
_PLACEHOLDER_WORDS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "example",
    "placeholder",
    "insecure",
    "secret-key",
)

SECRET_KEY = env.str("SECRET_KEY", default="")
if (
    len(SECRET_KEY) < 50
    or SECRET_KEY.startswith(("plausi-", "django-insecure"))
    or any(word in SECRET_KEY.lower() for word in _PLACEHOLDER_WORDS)
    or len(set(SECRET_KEY)) < 20
):
    raise ImproperlyConfigured(
        "Set SECRET_KEY to a random value of at least 50 characters, not an example or a placeholder "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')." + _DEMO_HINT
    )

for _required in ("DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"):
    if not env.str(_required, default=""):
        raise ImproperlyConfigured(f"{_required} must be set in production." + _DEMO_HINT)

DATABASES = {"default": postgres_tuning(env.db("DATABASE_URL"))}
# Persistent connections, renewed every 10 minutes or so (each one's end is spread: core.apps).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# One cache for every web process (login failure counts, role and report caches): Redis, the broker's by default.
_cache_url = env.str("CACHE_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The web process serves the static files itself (WhiteNoise, right after SecurityMiddleware): the names that
# `collectstatic` writes (`plausi start` runs it) carry a content hash and are cached for a year, and a gzip copy
# of each text file is sent to clients that accept it. A reverse proxy or CDN in front may cache them as they are.
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1 :],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "core.staticfiles.CompressedManifestStorage"},
}
# Celery beat's record of when each periodic task last ran (a file; in the var folder, not the working directory).
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
