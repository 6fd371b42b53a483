"""Reads for generation runs."""

from __future__ import annotations

from typing import Any

from generation.models import GenerationRun


def generation_run_list() -> Any:
    """Generation runs, newest first."""
    return GenerationRun.objects.all()
