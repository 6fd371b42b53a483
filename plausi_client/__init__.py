"""A typed, synchronous Python client of the Plausi REST API (httpx). See docs/recipes.md.

from plausi_client import Client

with Client("https://plausi.example.com", token="...") as plausi:
    run = plausi.wait_for_ingest(plausi.upload(["pairs.jsonl"]), progress=print)
"""

from plausi_client.client import Client, Progress, UploadFile
from plausi_client.errors import (
    ApiError,
    AuthenticationError,
    ChecksumMismatch,
    Conflict,
    NotFound,
    PermissionDenied,
    PlausiError,
    RunFailed,
    RunTimeout,
    Throttled,
)
from plausi_client.types import (
    AuditItem,
    Batch,
    BatchDetail,
    Candidate,
    Download,
    Estimate,
    IngestProblem,
    Label,
    Me,
    ModelVersion,
    Run,
    Token,
)

__all__ = [
    "ApiError",
    "AuditItem",
    "AuthenticationError",
    "Batch",
    "BatchDetail",
    "Candidate",
    "ChecksumMismatch",
    "Client",
    "Conflict",
    "Download",
    "Estimate",
    "IngestProblem",
    "Label",
    "Me",
    "ModelVersion",
    "NotFound",
    "PermissionDenied",
    "PlausiError",
    "Progress",
    "Run",
    "RunFailed",
    "RunTimeout",
    "Throttled",
    "Token",
    "UploadFile",
]
