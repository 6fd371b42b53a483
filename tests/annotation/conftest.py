"""Fixtures of the annotation tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def no_gates(settings: Any) -> None:
    """Every question settled by the plain majority (two agreeing answers, a third on a disagreement), for tests
    of the overlap, undo and concurrency mechanics that use the first question; issue 21's gate rule has its own
    tests (test_gates_and_small_teams.py)."""
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GATE_QUESTIONS": []}
