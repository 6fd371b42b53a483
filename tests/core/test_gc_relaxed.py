"""core/gc_relaxed.py: a run's bulk work collects less often, and the process's thresholds come back after it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from core.gc_relaxed import BULK_GC_THRESHOLD, collections_relaxed


@pytest.fixture(autouse=True)
def _thresholds_restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_block_runs_with_the_bulk_thresholds_and_the_old_ones_come_back() -> None:
    gc.set_threshold(700, 10, 10)
    with collections_relaxed():
        assert gc.get_threshold() == BULK_GC_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)


def test_an_error_in_the_block_still_restores_and_higher_thresholds_are_kept() -> None:
    gc.set_threshold(90_000, 5, 500)
    with pytest.raises(RuntimeError), collections_relaxed():
        assert gc.get_threshold() == (90_000, 20, 500)
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == (90_000, 5, 500)


def test_a_process_with_collection_off_keeps_it_off() -> None:
    gc.set_threshold(0)
    with collections_relaxed():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_overlapping_blocks_of_two_threads_restore_the_thresholds_only_when_both_have_left() -> None:
    gc.set_threshold(700, 10, 10)
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int, int]] = {}

    def first() -> None:
        with collections_relaxed():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collections_relaxed():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen["after the first left"] == BULK_GC_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)
