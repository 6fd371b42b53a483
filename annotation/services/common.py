"""What the annotation services share: their settings, and datetimes and JSON as raw SQL passes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

GOLD_WANTED = 32_000  # gold candidates stay open for every annotator


def _conf(name: str) -> Any:
    return settings.PLAUSI_ANNOTATION[name]


#: Issue 21's gate rule (annotation.maths.overlap.gate_majority), where the settings leave a key out.
GATE_DEFAULTS: dict[str, Any] = {
    "GATE_QUESTIONS": ("complete", "relevant", "informative"),
    "GATE_NO_ANSWERS": 3,
    "GATE_MAX_ANSWERS": 5,
    # the weighted margin (log-odds) a question needs when no annotator is left: log(8), an 8:1 posterior; one
    # answer of an annotator of the assumed 0.8 accuracy (log 4) is not enough, one of 0.9 accuracy is
    "EXHAUSTED_MIN_EVIDENCE": 2.0794415416798357,
}


def _conf_or_default(name: str) -> Any:
    return settings.PLAUSI_ANNOTATION.get(name, GATE_DEFAULTS.get(name))


def _gate_conf() -> tuple[frozenset[str], int, int]:
    """(gate question slugs, No answers that close a gate, answers after which an unsettled gate is passed on)."""
    return (
        frozenset(_conf_or_default("GATE_QUESTIONS") or ()),
        int(_conf_or_default("GATE_NO_ANSWERS")),
        int(_conf_or_default("GATE_MAX_ANSWERS")),
    )


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=_conf("LEASE_SECONDS"))


def undo_window() -> dt.timedelta:
    return dt.timedelta(seconds=_conf("UNDO_SECONDS"))


def _ts(value: dt.datetime) -> Any:
    """A datetime as a raw-SQL parameter (SQLite stores naive UTC text; psycopg takes it as it is)."""
    return connection.ops.adapt_datetimefield_value(value)


def _read_ts(value: Any) -> dt.datetime:
    """A datetime read by raw SQL (SQLite returns text)."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)
    return value


def _known_labels(raw: Any) -> dict[str, Any]:
    """A gold candidate's known answers, ``{question slug: value}``, as raw SQL read them (JSON, or text)."""
    if raw is None:
        return {}
    if isinstance(raw, str | bytes):
        raw = orjson.loads(raw)
    return raw if isinstance(raw, dict) else {}
