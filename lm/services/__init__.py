"""COSMO-LM's writes: training runs (request, claim, execute), the registry (activation), and generation runs that
use a version.

A training reads the platform's instruction data (``curation.selectors.instruction_records_read``: generation from
the accepted edges, plausibility and typicality judgements from the consolidated labels, negatives included), splits
it by behaviour, writes the examples beside the artifact (the data snapshot), trains and evaluates in plain Python
(``classifiers.ml.lm.run``), then in one transaction registers the ``LMVersion``, activates it when the promotion
rule says so, and ends the run. A worker killed before that transaction leaves nothing registered; the redelivered
task (or the sweep) trains again from the start into the same folder.

Activation emits ``lm.activated`` (payload: ``lm_version``, ``artifact``, ``previous``) in its transaction: the one
place that says "a new generation model is live". Consumers (the serving cache's refresh) subscribe to it with
``PLAUSI_PIPELINE_SUBSCRIBERS`` / ``core.events.listen``, like any pipeline event.
"""

from lm.services.common import lm_base_model, lm_queue
from lm.services.generation import lm_generation_run_create, lm_knowledge_generate, lm_loaded
from lm.services.registry import lm_activated_emit, lm_version_activate
from lm.services.training import (
    GenerationChecker,
    artifact_folder,
    data_snapshot,
    lm_training_run_claim,
    lm_training_run_execute,
    lm_training_run_request,
    promotion_decide,
)

__all__ = [
    "GenerationChecker",
    "artifact_folder",
    "data_snapshot",
    "lm_activated_emit",
    "lm_base_model",
    "lm_generation_run_create",
    "lm_knowledge_generate",
    "lm_loaded",
    "lm_queue",
    "lm_training_run_claim",
    "lm_training_run_execute",
    "lm_training_run_request",
    "lm_version_activate",
    "promotion_decide",
]
