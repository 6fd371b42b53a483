"""Every write of the knowledge domain. Keyword-only, typed, atomic; errors are ``ApplicationError``."""

from knowledge.services.candidates import (
    CandidateIdsSql,
    candidate_filter_outcomes_apply,
    candidate_status_transition,
    candidate_status_update_sql,
    search_query_specificity_set,
)
from knowledge.services.ingest import (
    IngestFileSpec,
    ingest_run_claim,
    ingest_run_create,
    ingest_run_create_from_uploads,
    ingest_run_execute,
    ingest_run_supersede,
    uploads_save,
)
from knowledge.services.retention import ingest_files_expire
from knowledge.services.users import user_create

__all__ = [
    "CandidateIdsSql",
    "IngestFileSpec",
    "candidate_filter_outcomes_apply",
    "candidate_status_transition",
    "candidate_status_update_sql",
    "ingest_files_expire",
    "ingest_run_claim",
    "ingest_run_create",
    "ingest_run_create_from_uploads",
    "ingest_run_execute",
    "ingest_run_supersede",
    "search_query_specificity_set",
    "uploads_save",
    "user_create",
]
