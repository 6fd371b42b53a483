"""Imports from the peer tools (Label Studio, Argilla / Hugging Face): a team's history becomes Plausi candidates
with their labels, under the ingest's all-or-nothing rules.

``peer_import_create`` converts and checks every record first (``curation.peers``): a file with any problem is
refused whole, naming the record and the field, and nothing is created. The converted records are written as
a JSON Lines ingest file (line N is record N, so the ingest's report names the same record) with the votes in a
file beside it, and an ingest run is recorded. ``peer_import_execute`` runs that ingest; inside the transaction of
its merge, the labels are written through annotation's ``labels_import`` (method ``labelstudio`` or ``argilla``,
the votes as yes/no counts) and the labelled candidates that were just ingested move to ``labelled``, so the
candidates and their labels land together or not at all, and no filter run or annotator sees them first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from annotation.services import labels_import
from core.errors import ApplicationError
from core.outbox import run_enqueue
from curation import peers
from knowledge.ingest.parsing import STAGING_COLUMNS, LineError, LineParser
from knowledge.selectors import candidate_ids_by_dedup_key, relation_ids
from knowledge.services import (
    IngestFileSpec,
    candidate_status_transition,
    ingest_run_claim,
    ingest_run_create,
    ingest_run_execute,
    uploads_save,
)

VOTES_SUFFIX = ".votes.jsonl"
SOURCE_FILE = "import.json"  # beside the converted files: the source, which names the labels' method
DEDUP_KEY = STAGING_COLUMNS.index("dedup_key")
MAX_REPORTED = 20
LOOKUP_BATCH = 5_000


@dataclass(frozen=True)
class PeerImport:
    """A created import: its ingest run, and how many records and labels it holds."""

    run: Any
    records: int
    labelled: int


def _known_questions() -> set[str]:
    from annotation.exports import question_slugs

    return set(question_slugs().values())


def _convert(path: Path, name: str, source: str, mapping: peers.PeerMapping, ids: dict[str, int]) -> Iterator[Any]:
    try:
        records = peers.read_records(path, source)
        if source == "labelstudio":
            yield from peers.labelstudio_convert(records, mapping, file_name=name, relation_ids=ids)
        else:
            yield from peers.argilla_convert(records, mapping, file_name=name, relation_ids=ids)
    except (ValueError, OSError, orjson.JSONDecodeError) as exc:  # pyarrow's errors are ValueErrors or OSErrors
        raise ApplicationError(f"{name}: {exc}; nothing was imported.") from exc


def _refuse(errors: list[LineError], total: int) -> None:
    listed = "; ".join(f"{e.file} record {e.line}, {e.field}: {e.message}" for e in errors[:MAX_REPORTED])
    more = f" (and {total - MAX_REPORTED} more)" if total > MAX_REPORTED else ""
    raise ApplicationError(
        f"{total} problem(s); nothing was imported. {listed}{more}",
        extra={"errors": [error.as_dict() for error in errors[:MAX_REPORTED]], "error_count": total},
    )


def peer_import_create(
    *,
    files: list[tuple[Path, str]],
    source: str,
    mapping: peers.PeerMapping,
    actor: Any = None,
    ingest_source: str = "cli",
    dry_run: bool = False,
    enqueue: bool = False,
) -> PeerImport:
    """Convert and check peer files ((path, name) each), then record their ingest (see the module docstring).
    With ``enqueue`` a worker executes it after commit; else the caller runs ``peer_import_execute``."""
    if source not in peers.SOURCES:
        raise ApplicationError(f"Unknown source {source!r}; sources: {', '.join(peers.SOURCES)}.")
    if not files:
        raise ApplicationError("Give at least one file to import.")
    problems = mapping.problems()
    if not problems and mapping.question not in _known_questions():
        problems.append(f"question {mapping.question!r} is not one of the annotation questions")
    if problems:
        raise ApplicationError(f"The mapping is not usable: {'; '.join(problems)}.")
    ids = relation_ids(active_only=True)
    folder = Path(settings.PRIVATE_MEDIA_ROOT) / "imports" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    specs: list[IngestFileSpec] = []
    errors: list[LineError] = []
    error_count = records = labelled = 0
    for index, (path, name) in enumerate(files):
        target = folder / f"{index:03d}.jsonl"
        with target.open("wb") as out, (folder / f"{index:03d}{VOTES_SUFFIX}").open("wb") as votes_out:
            for converted in _convert(path, name, source, mapping, ids):
                records += 1
                if converted.errors:
                    error_count += len(converted.errors)
                    errors.extend(converted.errors[: max(0, MAX_REPORTED - len(errors))])
                    continue
                labelled += "labels" in converted.record
                out.write(orjson.dumps(converted.record) + b"\n")
                votes = converted.votes if "labels" in converted.record else None
                votes_out.write(orjson.dumps(votes) + b"\n")
        specs.append(IngestFileSpec(path=target, name=name))
    if error_count:
        _refuse(errors, error_count)
    (folder / SOURCE_FILE).write_bytes(orjson.dumps({"source": source, "mapping": mapping.__dict__}))
    if not records:
        raise ApplicationError("The files hold no records; there is nothing to import.")
    run = ingest_run_create(
        files=specs, source=ingest_source, created_by=actor, dry_run=dry_run, format="jsonl", enqueue=False
    )
    if enqueue:
        from curation.tasks import peer_import_execute_task

        run_enqueue(task=peer_import_execute_task, run_id=run.pk)  # through the outbox
    return PeerImport(run=run, records=records, labelled=labelled)


def peer_import_create_from_uploads(
    *, uploads: list[UploadedFile], source: str, mapping: peers.PeerMapping, actor: Any, dry_run: bool = False
) -> PeerImport:
    """Store uploaded peer files privately, then ``peer_import_create`` them for a worker."""
    files = uploads_save(uploads=uploads, area="imports/uploads", command="manage.py import_peer")
    return peer_import_create(
        files=files, source=source, mapping=mapping, actor=actor, ingest_source="api", dry_run=dry_run, enqueue=True
    )


def _resolve(
    pending: list[tuple[str, str, bool, int, int]], moved: list[int]
) -> Iterator[tuple[int, str, bool, int, int]]:
    """The pending labels with their candidates' ids (one lookup for the lot); empties ``pending``."""
    found = candidate_ids_by_dedup_key([key for key, *_ in pending])
    for key, slug, value, yes, no in pending:
        moved.append(found[key])
        yield found[key], slug, value, yes, no
    pending.clear()


def _labels_of(run: Any, moved: list[int]) -> Iterator[tuple[int, str, bool, int, int]]:
    """(candidate, question, value, yes, no) for every labelled record of the run's files, its candidate found by
    the same dedup key that the ingest computed."""
    ids = relation_ids(active_only=True)
    for file_no, entry in enumerate(run.files):
        if entry.get("outcome") != "ingested":
            continue
        path = Path(entry["path"])
        parser = LineParser(relation_ids=ids, file_name=entry["name"], file_no=file_no)
        pending: list[tuple[str, str, bool, int, int]] = []
        with path.open("rb") as lines, path.with_name(path.stem + VOTES_SUFFIX).open("rb") as votes_lines:
            for line_no, (line, votes_line) in enumerate(zip(lines, votes_lines, strict=True), start=1):
                votes = orjson.loads(votes_line)
                if votes is None:
                    continue
                record = orjson.loads(line)
                row = parser.parse(record, line_no)
                if isinstance(row, list):  # validated twice already; never expected
                    raise ApplicationError(f"{entry['name']} record {line_no} no longer validates.")
                ((slug, value),) = record["labels"].items()
                pending.append((row[DEDUP_KEY], slug, value, votes[0], votes[1]))
                if len(pending) >= LOOKUP_BATCH:
                    yield from _resolve(pending, moved)
        yield from _resolve(pending, moved)


def peer_import_source(run: Any) -> str | None:
    """The source of an import's ingest run (None: a plain ingest run)."""
    if not run.files:
        return None
    marker = Path(run.files[0]["path"]).parent / SOURCE_FILE
    if not marker.is_file():
        return None
    return str(orjson.loads(marker.read_bytes())["source"])


def peer_import_execute(*, run_id: int, progress: Callable[[int, int], None] | None = None) -> Any:
    """Execute a claimed import's ingest; its labels are written inside the merge's transaction (see the
    module docstring), with the source (``labelstudio``, ``argilla``) as their method."""

    def record_labels(run: Any) -> None:
        method = peer_import_source(run)
        if method is None:
            raise ApplicationError(f"Ingest run {run.pk} is not an import (its files lost their {SOURCE_FILE}).")
        moved: list[int] = []
        written = labels_import(rows=_labels_of(run, moved), method=method)
        for start in range(0, len(moved), LOOKUP_BATCH):
            candidate_status_transition(
                candidates=moved[start : start + LOOKUP_BATCH], to_status="labelled", from_statuses=["ingested"]
            )
        run.message = f"{run.message} Imported {written} label(s) ({method})."

    return ingest_run_execute(run_id=run_id, progress=progress, after_merge=record_labels)


def peer_import_claim(*, run_id: int, claimer: str = "") -> bool:
    return ingest_run_claim(run_id=run_id, claimer=claimer)
