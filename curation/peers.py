"""Files from the peer tools turned into Plausi ingest records with their yes/no labels. Pure Python (no Django).

Two sources (docs/formats.md, "Imports from Label Studio and Argilla"):

* ``labelstudio``: a Label Studio JSON export, a list of tasks ``{"data": {...}, "annotations": [{"result":
  [{"type": "choices", "from_name": ..., "value": {"choices": ["Yes"]}}], "was_cancelled": false}]}``. Each
  annotation that is not cancelled is one vote; ``predictions`` are ignored.
* ``argilla``: records of an Argilla or Hugging Face yes/no dataset, as a JSON list, JSON Lines or Parquet (a
  split of a dataset folder): text fields plus a label field holding a value, a list of values (one per
  annotator) or a list of Argilla responses ``{"value": ..., "status": "submitted"}`` (others are not votes).

A ``PeerMapping`` says which fields become the head, the relation and the tail, which Plausi question the yes/no
answers, and which values mean yes and no. The votes of a record are consolidated by majority (a tie gives no
label); the record becomes one ingest record (``docs/formats.md``) with ``labels`` holding that value, and its
votes travel beside it. Every problem names the record (its 1-based position in the file) and the field as the
peer tool spells it (``data.text``, ``annotations[0].result[1].value.choices``), and nothing is imported from a
file with any problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from knowledge.ingest.parsing import LABEL_KEY, LineError, LineParser, _brief

SOURCES = ("labelstudio", "argilla")
YES = ("yes", "y", "true", "1", "plausible", "accept", "accepted", "correct", "positive")
NO = ("no", "n", "false", "0", "implausible", "reject", "rejected", "incorrect", "negative")
MAX_RECORD_ERRORS = 50


@dataclass(frozen=True)
class PeerMapping:
    """Which peer fields make a Plausi candidate. ``relation`` (a slug) is used when ``relation_field`` is empty
    or absent from a record. ``kind`` "plain" reads the head from ``head_field``; "search_buy" reads the query
    and the bought product's id (and optionally its title) instead. ``label_field`` is Argilla's; Label Studio's
    votes are its ``choices`` results, of the control ``from_name`` when given (else every one)."""

    kind: str = "plain"
    head_field: str = "head"
    query_field: str = "query"
    product_field: str = "product_id"
    product_title_field: str = "product_title"
    relation_field: str = "relation"
    relation: str = ""
    tail_field: str = "tail"
    label_field: str = "label"
    from_name: str = ""
    question: str = "plausible"
    yes: tuple[str, ...] = YES
    no: tuple[str, ...] = NO

    def problems(self) -> list[str]:
        found = []
        if self.kind not in ("plain", "search_buy"):
            found.append(f"kind must be plain or search_buy, not {_brief(self.kind)}")
        if not LABEL_KEY.fullmatch(self.question):
            found.append(f"question {_brief(self.question)} is not a question slug")
        overlap = {value.lower() for value in self.yes} & {value.lower() for value in self.no}
        if overlap:
            found.append(f"values both yes and no: {', '.join(sorted(overlap))}")
        return found


@dataclass
class Converted:
    """One peer record as an ingest record, with its votes (None: no label)."""

    record_no: int
    record: dict[str, Any]
    votes: tuple[int, int] | None
    errors: list[LineError] = field(default_factory=list)


def _field(data: Mapping[str, Any], path: str) -> Any:
    """A field by name; a dotted name is tried as one key first (Argilla's ``label.responses`` columns), then
    as a path into nested objects."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _text(value: Any) -> Any:
    """Numbers given as text fields (a product id 12345) become text; anything else is left to the parser."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class _Converter:
    def __init__(self, mapping: PeerMapping, file_name: str, relation_ids: Mapping[str, int]) -> None:
        self.mapping = mapping
        self.file_name = file_name
        self.yes = {value.lower() for value in mapping.yes}
        self.no = {value.lower() for value in mapping.no}
        self.parser = LineParser(relation_ids=relation_ids, file_name=file_name, file_no=0)

    def vote(self, value: Any) -> bool | None:
        """True, False, or None when the value means neither."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in self.yes:
                return True
            if lowered in self.no:
                return False
        return None

    def candidate(self, record_no: int, data: Mapping[str, Any], prefix: str) -> Converted:
        """The ingest record from the mapped fields; problems of the ingest format are named by peer field."""
        mapping = self.mapping
        names = {"tail": mapping.tail_field}
        record: dict[str, Any] = {"kind": mapping.kind, "tail": _text(_field(data, mapping.tail_field))}
        relation = _field(data, mapping.relation_field) if mapping.relation_field else None
        names["relation"] = mapping.relation_field if relation not in (None, "") else "(mapping) relation"
        record["relation"] = relation if relation not in (None, "") else mapping.relation or None
        if mapping.kind == "plain":
            record["head"] = _text(_field(data, mapping.head_field))
            names["head"] = mapping.head_field
        else:
            record["query"] = _text(_field(data, mapping.query_field))
            product: dict[str, Any] = {"id": _text(_field(data, mapping.product_field))}
            title = _field(data, mapping.product_title_field)
            if title not in (None, ""):
                product["title"] = title
            record["product"] = product
            names.update(
                {"query": mapping.query_field, "product.id": mapping.product_field, "product": mapping.product_field}
            )
            names["product.title"] = mapping.product_title_field
        converted = Converted(record_no, record, None)
        parsed = self.parser.parse(record, record_no)
        if isinstance(parsed, list):
            for error in parsed:
                name = names.get(error.field, error.field)
                peer = name if name.startswith("(") else f"{prefix}{name}"
                converted.errors.append(LineError(self.file_name, record_no, peer, error.message))
        return converted

    def error(self, converted: Converted, field_name: str, message: str) -> None:
        converted.errors.append(LineError(self.file_name, converted.record_no, field_name, message))

    def settle(self, converted: Converted, yes: int, no: int) -> Converted:
        if yes or no:
            converted.votes = (yes, no)
            if yes != no:
                converted.record["labels"] = {self.mapping.question: yes > no}
        return converted


def labelstudio_convert(
    tasks: Any, mapping: PeerMapping, *, file_name: str, relation_ids: Mapping[str, int]
) -> Iterator[Converted]:
    """Each Label Studio task as a ``Converted`` (see the module docstring)."""
    converter = _Converter(mapping, file_name, relation_ids)
    if not isinstance(tasks, list):
        raise ValueError("is not a Label Studio JSON export: expected a list of tasks")
    for index, task in enumerate(tasks):
        record_no = index + 1
        if not isinstance(task, Mapping) or not isinstance(task.get("data"), Mapping):
            converted = Converted(record_no, {}, None)
            converter.error(converted, "data", "a task must be an object with a 'data' object")
            yield converted
            continue
        converted = converter.candidate(record_no, task["data"], "data.")
        yes = no = 0
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            converter.error(converted, "annotations", "must be a list")
            annotations = []
        for a, annotation in enumerate(annotations):
            if not isinstance(annotation, Mapping):
                converter.error(converted, f"annotations[{a}]", "must be an object")
                continue
            if annotation.get("was_cancelled"):
                continue
            votes = []
            for r, result in enumerate(annotation.get("result") or []):
                if not isinstance(result, Mapping) or result.get("type") != "choices":
                    continue
                if mapping.from_name and result.get("from_name") != mapping.from_name:
                    continue
                where = f"annotations[{a}].result[{r}].value.choices"
                choices = _field(result, "value.choices")
                if not isinstance(choices, list) or len(choices) != 1:
                    converter.error(converted, where, "must hold exactly one choice")
                    continue
                value = converter.vote(choices[0])
                if value is None:
                    converter.error(converted, where, f"{_brief(choices[0])} is neither a yes nor a no value")
                    continue
                votes.append(value)
            if len(votes) > 1:
                converter.error(converted, f"annotations[{a}].result", "holds more than one yes/no choice")
            elif votes:
                yes, no = yes + votes[0], no + (not votes[0])
        yield converter.settle(converted, yes, no)


def argilla_convert(
    records: Iterable[Any], mapping: PeerMapping, *, file_name: str, relation_ids: Mapping[str, int]
) -> Iterator[Converted]:
    """Each Argilla / Hugging Face record as a ``Converted`` (see the module docstring)."""
    converter = _Converter(mapping, file_name, relation_ids)
    for index, item in enumerate(records):
        record_no = index + 1
        if not isinstance(item, Mapping):
            converted = Converted(record_no, {}, None)
            converter.error(converted, "(record)", "must be an object")
            yield converted
            continue
        fields = item.get("fields")
        data: Mapping[str, Any] = fields if isinstance(fields, Mapping) else item  # Argilla v1 JSON: "fields"
        converted = converter.candidate(record_no, data, "")
        raw = _field(item, mapping.label_field)
        if raw is None and isinstance(item.get("responses"), Mapping):
            raw = item["responses"].get(mapping.label_field)
        values = raw if isinstance(raw, list) else ([] if raw is None or raw == "" else [raw])
        yes = no = 0
        for position, value in enumerate(values):
            where = mapping.label_field if not isinstance(raw, list) else f"{mapping.label_field}[{position}]"
            if isinstance(value, Mapping):  # an Argilla response
                if value.get("status", "submitted") != "submitted":
                    continue
                value = value.get("value")
                where += ".value"
            vote = converter.vote(value)
            if vote is None:
                converter.error(converted, where, f"{_brief(value)} is neither a yes nor a no value")
                continue
            yes, no = yes + vote, no + (not vote)
        yield converter.settle(converted, yes, no)


def read_records(path: Path, source: str) -> Any:
    """The file's records: a JSON document (Label Studio; Argilla as a list), JSON Lines or Parquet (Argilla)."""
    name = path.name.lower()
    if source == "argilla" and name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if source == "argilla" and name.endswith((".jsonl", ".ndjson")):
        with path.open("rb") as handle:
            return [orjson.loads(line) for line in handle if line.strip()]
    data = orjson.loads(path.read_bytes())
    if source == "argilla" and isinstance(data, Mapping) and isinstance(data.get("records"), list):
        return data["records"]
    if source == "argilla" and not isinstance(data, list):
        raise ValueError("is not a list of records")
    return data
