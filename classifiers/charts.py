"""The learning curve as an SVG band chart: plain arithmetic on the selector's points, no Django, no JavaScript.

The template draws what this returns (numbers and fixed strings only, so nothing from a user reaches the SVG
unescaped): the ROC AUC of each version against its label count, and the band of its 95% interval.
"""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, MARGIN = 560, 220, 36


def learning_curve_chart(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``{"line", "band", "dots", "x_ticks", "y_ticks", ...}`` in SVG coordinates, or None with fewer than one
    point that has an AUC. The y axis spans 0.5 (chance) to 1.0; the x axis 0 to the largest label count."""
    rows = [p for p in points if p.get("roc_auc") is not None]
    if not rows:
        return None
    top_labels = max(max(int(p["labels"]) for p in rows), 1)

    def x(labels: float) -> float:
        return round(MARGIN + (WIDTH - 2 * MARGIN) * labels / top_labels, 1)

    def y(auc: float) -> float:
        auc = min(max(auc, 0.5), 1.0)
        return round(HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * (auc - 0.5) / 0.5, 1)

    line = " ".join(f"{x(p['labels'])},{y(p['roc_auc'])}" for p in rows)
    banded = [p for p in rows if p.get("roc_auc_low") is not None and p.get("roc_auc_high") is not None]
    band = ""
    if banded:
        upper = [f"{x(p['labels'])},{y(p['roc_auc_high'])}" for p in banded]
        lower = [f"{x(p['labels'])},{y(p['roc_auc_low'])}" for p in reversed(banded)]
        band = " ".join(upper + lower)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "line": line,
        "band": band,
        "dots": [
            {
                "x": x(p["labels"]),
                "y": y(p["roc_auc"]),
                "low": y(p["roc_auc_low"]) if p.get("roc_auc_low") is not None else None,
                "high": y(p["roc_auc_high"]) if p.get("roc_auc_high") is not None else None,
                "title": f"v{p['version']} ({p['kind']}): {p['labels']} labels, ROC AUC {p['roc_auc']:.3f}"
                + (
                    f" (95% interval {p['roc_auc_low']:.3f} to {p['roc_auc_high']:.3f})"
                    if p.get("roc_auc_low") is not None and p.get("roc_auc_high") is not None
                    else ""
                ),
            }
            for p in rows
        ],
        "x_ticks": [{"x": x(top_labels * i / 4), "label": round(top_labels * i / 4)} for i in range(5)],
        "y_ticks": [{"y": y(v), "label": f"{v:.1f}"} for v in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)],
        "left": MARGIN,
        "right": WIDTH - MARGIN,
        "bottom": HEIGHT - MARGIN,
        "top": MARGIN,
    }
