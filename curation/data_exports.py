"""Writing annotation's raw data: every answer and every consolidated label, as JSON Lines or CSV.

Rows come from annotation's export selectors (``annotation.exports``: a server-side cursor, read in slices) and
are written as they come, so memory stays bounded whatever the number of answers. Annotators are pseudonymised by
default: ``annotator`` is a keyed hash of the user id (HMAC-SHA256 under ``EXPORT_PSEUDONYM_KEY``, else a key
derived from ``SECRET_KEY``), the same in every export made with the same key and never the username; the filter
``include_usernames`` (an explicit admin choice) writes the usernames instead.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model

from annotation.exports import answers_iter, labels_iter, question_slugs
from curation.exports import SLICE, spreadsheet_cell

Progress = Callable[[int], None]

ANSWER_COLUMNS = [
    "answer",
    "candidate",
    "question",
    "value",
    "annotator",
    "seconds",
    "answered_at",
    "assignment",
    "assignment_status",
    "gold",
]
LABEL_COLUMNS = [
    "candidate",
    "question",
    "value",
    "method",
    "yes",
    "no",
    "votes",
    "confidence",
    "agreement",
    "gold",
    "relation",
    "tail",
    "updated_at",
]


def pseudonym_key() -> bytes:
    """The HMAC key of annotator pseudonyms: ``EXPORT_PSEUDONYM_KEY``, or one derived from ``SECRET_KEY`` (never
    the secret itself, so a pseudonym reveals nothing about it)."""
    configured = getattr(settings, "EXPORT_PSEUDONYM_KEY", "")
    if configured:
        return str(configured).encode()
    return hmac.new(str(settings.SECRET_KEY).encode(), b"plausi.export.annotator-pseudonym", hashlib.sha256).digest()


def annotator_pseudonym(user_id: int, key: bytes | None = None) -> str:
    """``annotator-`` and 16 hex digits of HMAC-SHA256(key, user id): stable across exports, not reversible
    without the key."""
    digest = hmac.new(pseudonym_key() if key is None else key, f"user:{user_id}".encode(), hashlib.sha256)
    return "annotator-" + digest.hexdigest()[:16]


class AnnotatorNames:
    """An annotator's name in an export, computed once per annotator: the pseudonym, or the username when the
    admin asked for usernames."""

    def __init__(self, *, include_usernames: bool) -> None:
        self.key = pseudonym_key()
        self.usernames: dict[int, str] | None = None
        if include_usernames:
            self.usernames = dict(get_user_model().objects.values_list("pk", "username"))
        self._names: dict[int, str] = {}

    def __call__(self, user_id: int) -> str:
        name = self._names.get(user_id)
        if name is None:
            if self.usernames is not None:
                name = self.usernames.get(user_id, f"user-{user_id}")
            else:
                name = annotator_pseudonym(user_id, self.key)
            self._names[user_id] = name
        return name


def answer_records(filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every answer as a record (``ANSWER_COLUMNS``), in id order."""
    slugs = question_slugs()
    names = AnnotatorNames(include_usernames=bool(filters.get("include_usernames")))
    for answer, candidate, question, value, annotator, seconds, created_at, assignment, status, gold in answers_iter():
        yield {
            "answer": answer,
            "candidate": candidate,
            "question": slugs.get(question, str(question)),
            "value": bool(value),  # SQLite's cursor gives 0/1
            "annotator": names(annotator),
            "seconds": seconds,
            "answered_at": created_at,
            "assignment": assignment,
            "assignment_status": status,
            "gold": bool(gold),
        }


def label_records(filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every consolidated label as a record (``LABEL_COLUMNS``), by candidate then question. ``agreement`` is the
    share of the votes on the winning side (None without votes: a label decided by gold, an audit or an import)."""
    slugs = question_slugs()
    for candidate, question, value, method, yes, no, confidence, updated_at, gold, relation, tail in labels_iter():
        votes = yes + no
        yield {
            "candidate": candidate,
            "question": slugs.get(question, str(question)),
            "value": None if value is None else bool(value),
            "method": method,
            "yes": yes,
            "no": no,
            "votes": votes,
            "confidence": confidence,
            "agreement": round(max(yes, no) / votes, 4) if votes else None,
            "gold": bool(gold),
            "relation": relation,
            "tail": tail,
            "updated_at": updated_at,
        }


def _write_jsonl(out: IO[bytes], records: Iterator[dict[str, Any]], progress: Progress) -> int:
    written = 0
    dumps = orjson.dumps
    buffer: list[bytes] = []
    for record in records:
        buffer.append(dumps(record))
        written += 1
        if written % SLICE == 0:
            out.write(b"\n".join(buffer) + b"\n")
            buffer.clear()
            progress(written)
    if buffer:
        out.write(b"\n".join(buffer) + b"\n")
    progress(written)
    return written


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return spreadsheet_cell(value)


def _write_csv(out: IO[bytes], columns: list[str], records: Iterator[dict[str, Any]], progress: Progress) -> int:
    """UTF-8 CSV with a header; booleans as true/false, empty cells for nothing, text that a spreadsheet would run
    as a formula neutralised (``spreadsheet_cell``), like the graph's CSV."""
    written = 0
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        writer = csv.writer(text)
        writer.writerow(columns)
        for record in records:
            writer.writerow([_csv_value(record[column]) for column in columns])
            written += 1
            if written % SLICE == 0:
                progress(written)
    finally:
        text.flush()
        text.detach()  # the caller owns and closes ``out``
    progress(written)
    return written


def write_answers(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    return {"answers": _write_jsonl(out, answer_records(filters), progress)}


def write_answers_csv(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    return {"answers": _write_csv(out, ANSWER_COLUMNS, answer_records(filters), progress)}


def write_labels(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    return {"labels": _write_jsonl(out, label_records(filters), progress)}


def write_labels_csv(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    return {"labels": _write_csv(out, LABEL_COLUMNS, label_records(filters), progress)}
