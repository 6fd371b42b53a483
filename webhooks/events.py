"""The public event types a webhook endpoint can subscribe to: the pipeline events of ``core.events`` under
their own names (docs/webhooks.md documents each payload). A name here is a public promise: add, never rename."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "ingest.succeeded": "An ingest run imported its file(s): ingest_run, source, candidates_created.",
    "filter.succeeded": "A filter run finished: filter_run, moved_to_pooled, moved_to_filtered_out.",
    "training.succeeded": "A training run finished: training_run, model_version, activated.",
    "model.activated": "A classifier version became active: model_version, target, kind, version_token, forced, "
    "scoring_run.",
    "scoring.succeeded": "A scoring run finished: scoring_run, target, candidates_scored.",
    "batch.approved": "A review batch was approved: batch, decided_by, overridden, accepted, rejected, "
    "returned_to_pool, precision, wilson_low, wilson_high, audited.",
    "batch.rejected": "A review batch was rejected: the same fields as batch.approved.",
    "graph.updated": "Accepted edges changed: batch and accepted, or candidate and accepted.",
    "export.succeeded": "An export file is ready: export_run, format, file_name, file_size, sha256, edges.",
    "run.failed": "A run failed: kind (ingest, filter, training, scoring, export, generation ...), run, message.",
}
TEST_EVENT_TYPE = "webhook.test"  # sent on request to one endpoint ("Send test event"); not subscribable
