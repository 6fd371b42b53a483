"""Every write of the knowledge domain. Keyword-only, typed, atomic; errors are ``ApplicationError``."""

from knowledge.services.candidates import candidate_status_transition
from knowledge.services.ingest import (
    IngestFileSpec,
    ingest_run_claim,
    ingest_run_create,
    ingest_run_create_from_uploads,
    ingest_run_execute,
    ingest_run_supersede,
)
from knowledge.services.users import token_issue, token_revoke, user_create

__all__ = [
    "IngestFileSpec",
    "candidate_status_transition",
    "ingest_run_claim",
    "ingest_run_create",
    "ingest_run_create_from_uploads",
    "ingest_run_execute",
    "ingest_run_supersede",
    "token_issue",
    "token_revoke",
    "user_create",
]
