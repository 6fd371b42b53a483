"""The benchmarks run Django with ``config.settings.test``, which switches the pipeline's event-driven hand-offs off
for the test suite's sake (tests/pipeline switches them on). Measured as users live, the work those hand-offs
start in production (a filter run after an ingest, a queue fill after a filter run, the priorities after every
scoring run, which competes with the next training for the CPU) must happen in the benchmarks too: this puts
production's switches into the environment, for the benchmark process and the workers it starts."""

from __future__ import annotations

import os

PRODUCTION_HANDOFFS = {
    "PIPELINE_FILTER_AFTER_INGEST": "true",
    "PIPELINE_QUEUE_AFTER_FILTER": "true",
    "PIPELINE_PRIORITIES_AFTER_SCORING": "true",
    "PIPELINE_BATCHES_AFTER_SCORING": "false",
}


def use_production_pipeline() -> None:
    """Production's hand-off switches, unless the caller's environment says otherwise."""
    for name, value in PRODUCTION_HANDOFFS.items():
        os.environ.setdefault(name, value)
