"""Every write of the classifiers app: training runs (``training``), the registry (``registry``) and pool scoring
(``scoring``). See docs/classifiers.md for the loop."""

from classifiers.services.common import feature_store, queue_for
from classifiers.services.registry import model_version_activate
from classifiers.services.scoring import (
    candidates_mark_scored,
    examples_accept,
    scores_write,
    scoring_chunk_claim,
    scoring_chunk_close_run,
    scoring_chunk_execute,
    scoring_run_finish_if_complete,
    scoring_run_start,
    scoring_sweep,
)
from classifiers.services.training import (
    cross_validated,
    dataset,
    promotion_decide,
    retraining_check,
    training_run_claim,
    training_run_execute,
    training_run_request,
)

__all__ = [
    "candidates_mark_scored",
    "cross_validated",
    "dataset",
    "examples_accept",
    "feature_store",
    "model_version_activate",
    "promotion_decide",
    "queue_for",
    "retraining_check",
    "scores_write",
    "scoring_chunk_claim",
    "scoring_chunk_close_run",
    "scoring_chunk_execute",
    "scoring_run_finish_if_complete",
    "scoring_run_start",
    "scoring_sweep",
    "training_run_claim",
    "training_run_execute",
    "training_run_request",
]
