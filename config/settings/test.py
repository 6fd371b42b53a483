"""Test settings: a real PostgreSQL and a real Redis (scripts/test_services.py makes sure both run).

The test database name and the Redis key prefix carry a digest of the checkout's path, so two checkouts on one
machine (a developer's and CI's) can run their suites at the same time without touching each other's data.
"""

import hashlib
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, env, postgres_tuning

CHECKOUT_ID = hashlib.sha1(str(BASE_DIR).encode(), usedforsecurity=False).hexdigest()[:8]

SECRET_KEY = "plausi-tests-only"  # noqa: S105
DEBUG = False
DATABASES = {
    "default": postgres_tuning(env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/plausi")),
}
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_plausi_{CHECKOUT_ID}")}
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
_VISIBILITY_TIMEOUT = env.int("TEST_CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"plausi-test-{CHECKOUT_ID}:",
    # a worker killed by a test has its unacknowledged task delivered again after this (Redis visibility timeout)
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    # kombu restores those tasks under a Redis lock that expires after 5 minutes: a worker killed while holding it
    # would hold back the restore for longer than a test waits
    "unacked_mutex_expire": min(300, _VISIBILITY_TIMEOUT),
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests only
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-private")))
PLAUSI_CLASSIFIERS = {
    **PLAUSI_CLASSIFIERS,  # noqa: F405
    "MODEL_ROOT": Path(env.str("PLAUSI_MODEL_ROOT", default=str(BASE_DIR / "var" / f"test-models-{CHECKOUT_ID}"))),
    "FEATURE_ROOT": Path(
        env.str("PLAUSI_FEATURE_ROOT", default=str(BASE_DIR / "var" / f"test-features-{CHECKOUT_ID}"))
    ),
    "MIN_LABELS": 6,
    "FOLDS": 3,
    # tests train the cheap kind unless they ask for others (the packaged encoder is installed here and "auto"
    # would load it in every training); the encoder default and its fallback are tested explicitly
    "DEFAULT_KIND": env.str("CLASSIFIER_KIND", default="tfidf_lr"),
    "KINDS": env.list("CLASSIFIER_KINDS", default=["tfidf_lr"]),
    "PROMOTION_RESAMPLES": 200,
}
if env.str("TEST_CACHE_URL", default=""):  # a web process under test that shares a Redis cache, as production
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env.str("TEST_CACHE_URL")}
    }
# The event-driven hand-offs are off in tests unless a test (or a worker's environment) turns them on: a
# synchronous ingest in one test would otherwise start filter runs on the shared worker while the next test runs.
# tests/pipeline/ turns them on to test the flow end to end. (Training after labels runs only from Celery beat,
# and activation after training inside the training: both stay as in production.)
PLAUSI_PIPELINE = {
    **PLAUSI_PIPELINE,  # noqa: F405
    **{
        name: env.bool(f"PIPELINE_{name.upper()}", default=False)
        for name in ("filter_after_ingest", "queue_after_filter", "priorities_after_scoring", "batches_after_scoring")
    },
}
# Runs beat every second in tests, so that a killed worker's run is taken over seconds after the kill.
RUN_HEARTBEAT_SECONDS = env.float("RUN_HEARTBEAT_SECONDS", default=1.0)
RUN_STALE_SECONDS = env.float("RUN_STALE_SECONDS", default=30.0)
# Serving's cache generates with the scripted backend (no model in tests).
PLAUSI_SERVING = {**PLAUSI_SERVING, "BACKEND": env.str("SERVING_BACKEND", default="scripted")}  # noqa: F405
