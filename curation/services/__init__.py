"""Curation writes: review batches with audit samples, audit answers (which become training labels), batch and
single-candidate decisions with provenance and an audit log, the knowledge graph's nodes and edges.

Batches hold ``scored`` candidates (classifier-accepted, no human label) in strata of one relation and category
(or several small ones) within a range of bands of their lowest target score, merged up to about
``BATCH_TARGET_SIZE`` (``curation.formation``; one relation per batch unless asked). Each gets a random audit
sample sized so the 95% interval on the batch's precision has ``AUDIT_HALF_WIDTH`` on each side, shared among its
strata in proportion with a minimum each. Curators answer the sample, read the stratified estimate with its
interval and each stratum's, and approve (every candidate becomes an accepted edge, except audited No's, which
are rejected), approve without the strata that failed (theirs go back like a rejection), or reject (the
candidates go back to the pool at a lower annotation priority). Approving when the estimate (of the kept strata)
is under ``MIN_PRECISION`` needs an override reason, which is logged.
"""

from curation.services.batches import (
    audit_answer,
    batch_decide,
    batch_estimate,
    batches_per_call,
    review_batches_create,
    strata_estimates,
)
from curation.services.common import AUDIT_QUESTIONS, CURATABLE
from curation.services.exports import (
    EXPORT_SUFFIX,
    export_files_expire,
    export_folder,
    export_run_claim,
    export_run_create,
    export_run_execute,
)
from curation.services.graph import candidate_decide
from curation.services.imports import (
    PeerImport,
    peer_import_claim,
    peer_import_create,
    peer_import_create_from_uploads,
    peer_import_execute,
)

__all__ = [
    "AUDIT_QUESTIONS",
    "CURATABLE",
    "EXPORT_SUFFIX",
    "PeerImport",
    "audit_answer",
    "batch_decide",
    "batch_estimate",
    "batches_per_call",
    "candidate_decide",
    "export_files_expire",
    "export_folder",
    "export_run_claim",
    "export_run_create",
    "export_run_execute",
    "peer_import_claim",
    "peer_import_create",
    "peer_import_create_from_uploads",
    "peer_import_execute",
    "review_batches_create",
    "strata_estimates",
]
