"""What the client returns: runs and downloads as dataclasses, API records as TypedDicts (the fields the API
documents in its schema, /api/schema/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

RUN_KINDS = ("ingest", "filter", "training", "scoring", "export", "generation")
FINISHED = ("succeeded", "failed")


@dataclass(frozen=True)
class Run:
    """A run of any kind, in the common shape (``core.api.runs.RunOutputSerializer``); ``data`` is the whole
    record, with the kind's own parameters and results (an ingest's counts and errors, an export's sha256...)."""

    kind: str
    id: int
    status: str
    phase: str
    progress: float
    message: str
    error: str
    data: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, kind: str, record: dict[str, Any]) -> Run:
        return cls(
            kind=kind,
            id=int(record["id"]),
            status=str(record["status"]),
            phase=str(record.get("phase", "")),
            progress=float(record.get("progress") or 0.0),
            message=str(record.get("message", "")),
            error=str(record.get("error", "")),
            data=record,
        )

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def __getitem__(self, name: str) -> Any:
        """A field of the kind's record: ``run["candidates_created"]``, ``run["sha256"]``."""
        return self.data[name]


@dataclass(frozen=True)
class IngestProblem:
    """One problem an ingest found (``IngestErrorOutputSerializer``)."""

    file: str
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class Token:
    """An API token made by ``Client.login`` (the key is shown once; keep it secret)."""

    id: int
    name: str
    prefix: str
    key: str = field(repr=False)
    created_at: str
    expires_at: str | None


@dataclass(frozen=True)
class Download:
    """A downloaded export: where it was written, its size and its verified SHA-256."""

    path: Path
    size: int
    sha256: str


class Me(TypedDict):
    username: str
    roles: list[str]


class Candidate(TypedDict):
    id: int
    head_kind: str
    pair: dict[str, Any] | None
    head_text: str
    relation: str
    tail: str
    tail_normalized: str
    generator: str
    prompt_id: str
    support_count: int
    known_labels: dict[str, bool]
    status: str
    ingest_run: int | None
    created_at: str
    updated_at: str


class Label(TypedDict):
    """A consolidated label, the settled answer to one question about a candidate (``GET /api/annotation/labels/``)."""

    id: int
    candidate: int
    question: str
    value: bool | None
    method: str
    yes: int
    no: int
    confidence: float
    updated_at: str


class ModelVersion(TypedDict):
    id: int
    target: str
    kind: str
    params: dict[str, Any]
    label_count: int
    metrics: dict[str, Any]
    threshold: float | None
    is_active: bool
    version_token: int | None
    promotion: dict[str, Any]
    training_run: int | None
    created_at: str
    activated_at: str | None


class Estimate(TypedDict):
    audited: int
    audit_size: int
    precision: float | None
    wilson_low: float
    wilson_high: float
    effective_n: float | None
    complete: bool
    min_precision: float
    strata: list[dict[str, Any]]


class Batch(TypedDict):
    id: int
    status: str
    relation: str | None
    category: str | None
    score_low: float
    score_high: float
    size: int
    audit_size: int
    estimate: Estimate
    versions: dict[str, Any]
    created_at: str
    decided_at: str | None
    override_reason: str


class AuditItem(TypedDict):
    candidate: dict[str, Any]
    score: float
    value: bool | None
    stratum: int


class BatchDetail(TypedDict):
    batch: Batch
    estimate: Estimate
    histogram: list[int]
    audit: list[AuditItem]
    best: list[dict[str, Any]]
    worst: list[dict[str, Any]]
