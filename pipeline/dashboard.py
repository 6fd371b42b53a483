"""The dashboard's numbers (selectors) and its plots: SVG drawn by matplotlib on the server and served as images
(``<img>``: an SVG loaded that way runs no script), cached for half a minute."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from classifiers.selectors import learning_curve
from core.cache import cache_get, cache_set
from curation.selectors import batch_estimates

FUNNEL = ("ingested", "filtered_out", "pooled", "in_annotation", "labelled", "scored", "accepted", "rejected")
PLOT_CACHE_SECONDS = 30


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


# --- plots -----------------------------------------------------------------------------------------------------


def _svg(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def _figure(width: float = 6.0, height: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(width, height))
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def plot_funnel() -> bytes:
    data = funnel()
    figure, axes = _figure()
    axes.barh([name for name, _ in data][::-1], [count for _, count in data][::-1], color="#1a5fb4")
    axes.set_xlabel("candidates")
    axes.set_title("Pipeline funnel")
    return _svg(figure)


def plot_throughput() -> bytes:
    data = throughput()
    figure, axes = _figure()
    axes.bar([day.strftime("%m-%d") for day, _ in data], [count for _, count in data], color="#26a269")
    axes.set_ylabel("answers")
    axes.set_title("Annotation throughput (answers per day, UTC)")
    axes.tick_params(axis="x", rotation=60)
    return _svg(figure)


def plot_learning_curve() -> bytes:
    figure, axes = _figure()
    for target in settings.PLAUSI_CLASSIFIERS["TARGETS"]:
        points = [p for p in learning_curve(target) if p["roc_auc"] is not None]
        if points:
            axes.plot([p["labels"] for p in points], [p["roc_auc"] for p in points], marker="o", label=target)
    axes.set_xlabel("labelled candidates")
    axes.set_ylabel("held-out ROC AUC")
    axes.set_ylim(0.4, 1.0)
    axes.set_title("Classifier learning curve")
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    return _svg(figure)


def plot_batches() -> bytes:
    rows = [row for row in batch_estimates() if row["precision"] is not None]
    figure, axes = _figure()
    if rows:
        xs = list(range(len(rows)))
        ys = [row["precision"] for row in rows]
        errors = [
            [y - row["low"] for y, row in zip(ys, rows, strict=True)],
            [row["high"] - y for y, row in zip(ys, rows, strict=True)],
        ]
        axes.errorbar(xs, ys, yerr=errors, fmt="o", capsize=3, color="#1a5fb4")
        axes.set_xticks(xs, [row["label"] for row in rows], rotation=60, ha="right")
        axes.axhline(settings.PLAUSI_CURATION["MIN_PRECISION"], color="#b3261e", linestyle="--", linewidth=1)
    axes.set_ylim(0, 1.02)
    axes.set_ylabel("estimated precision")
    axes.set_title("Review batches: precision with 95% Wilson intervals")
    return _svg(figure)


PLOTS = {
    "funnel": plot_funnel,
    "throughput": plot_throughput,
    "learning-curve": plot_learning_curve,
    "batches": plot_batches,
}


def plot(name: str) -> bytes:
    key = f"dashboard:plot:{name}"
    svg = cache_get(key)
    if svg is None:
        svg = PLOTS[name]()
        cache_set(key, svg, PLOT_CACHE_SECONDS)
    return bytes(svg)
