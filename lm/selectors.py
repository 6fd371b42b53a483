"""Reads of COSMO-LM's registry and runs."""

from __future__ import annotations

from typing import Any

from lm.models import LMTrainingRun, LMVersion

HEADLINE = ("roc_auc", "accuracy", "accepted", "distinct_tails", "exact_match", "near_match")


def lm_version_list() -> Any:
    return LMVersion.objects.select_related("training_run").order_by("-created_at", "-id")


def lm_version_active() -> LMVersion | None:
    return LMVersion.objects.filter(is_active=True).first()


def lm_training_run_list() -> Any:
    return LMTrainingRun.objects.order_by("-created_at", "-id")


def lm_version_comparison(version: LMVersion) -> list[dict[str, Any]]:
    """The headline metrics of a version beside its untuned base's (one row per metric, values in [0, 1] or
    None), for the page's table and bars."""
    tuned = (version.metrics or {}).get("summary") or {}
    base = (version.base_metrics or {}).get("summary") or {}
    return [{"metric": name, "tuned": tuned.get(name), "base": base.get(name)} for name in HEADLINE]
