"""The dashboard's numbers (selectors). Its charts are drawn in the browser by Chart.js from
``dashboard_charts`` (served by ``pipeline.apis.DashboardChartsApi``): nothing is drawn in a request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from classifiers.selectors import learning_curve
from core.cache import cache_get_or_compute
from curation.selectors import batch_estimates

CHARTS_CACHE_KEY = "dashboard:charts"
CHARTS_CACHE_SECONDS = 30
FUNNEL = ("ingested", "filtered_out", "pooled", "in_annotation", "labelled", "scored", "accepted", "rejected")


def funnel() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM knowledge_candidate GROUP BY status")
        counts = dict(cursor.fetchall())
    return [(status, int(counts.get(status, 0))) for status in FUNNEL]


def throughput(*, days: int = 14) -> list[tuple[dt.date, int]]:
    """Answers per day (UTC) over the last ``days`` days."""
    from annotation.selectors import answers_per_day

    since = (timezone.now() - dt.timedelta(days=days - 1)).date()
    per_day = answers_per_day(since=since)
    return [(since + dt.timedelta(days=i), per_day.get(since + dt.timedelta(days=i), 0)) for i in range(days)]


def learning_curves() -> list[dict[str, Any]]:
    """Per classifier target, held-out ROC AUC against the labels each version trained on (oldest first)."""
    curves = []
    for target in settings.PLAUSI_CLASSIFIERS["TARGETS"]:
        points = [
            {"labels": p["labels"], "roc_auc": p["roc_auc"], "version": p["version"]}
            for p in learning_curve(target)
            if p["roc_auc"] is not None
        ]
        curves.append({"target": target, "points": points})
    return curves


def dashboard_charts() -> dict[str, Any]:
    """Everything the dashboard's charts draw (in the browser, from ``GET /api/dashboard/charts/``): the funnel,
    answers per day, the learning curves and the batches' precision with 95% Wilson intervals against the bar.
    Cached for ``CHARTS_CACHE_SECONDS``: the funnel counts the whole pool, and a chart need not be fresher."""
    return dict(cache_get_or_compute(CHARTS_CACHE_KEY, _charts, CHARTS_CACHE_SECONDS))


def _charts() -> dict[str, Any]:
    return {
        "funnel": [{"status": status, "count": count} for status, count in funnel()],
        "throughput": [{"day": day, "answers": count} for day, count in throughput()],
        "learning_curves": learning_curves(),
        "batches": {
            "min_precision": settings.PLAUSI_CURATION["MIN_PRECISION"],
            "items": [row for row in batch_estimates() if row["precision"] is not None],
        },
    }
