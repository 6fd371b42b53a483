"""Labelled candidates from a file in the ingest JSON Lines format (plain or gzip), for evaluation on data the
team did not write. Every line is checked with the ingest parser; a bad file is refused whole, naming the line
and the field, and nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
from django.conf import settings

from classifiers.ml.data import Example, describe_head
from core.errors import ApplicationError
from knowledge.ingest.parsing import STAGING_COLUMNS, LineParser
from knowledge.ingest.readers import iter_jsonl, open_content

GATE_ORDER = ("complete", "relevant", "informative", "plausible", "typical")


@dataclass(frozen=True)
class LabelledExample:
    example: Example
    labels: dict[str, bool]

    def target_label(self, target: str) -> int | None:
        """1/0 for a target with the platform's semantics (an earlier gate answered No makes it 0), or None."""
        order = GATE_ORDER.index(target) if target in GATE_ORDER else len(GATE_ORDER)
        if any(self.labels.get(slug) is False for slug in GATE_ORDER[: order + 1]):
            return 0
        value = self.labels.get(target)
        return None if value is None else int(value)


def read_labelled_file(
    path: Path, *, relation_ids: dict[str, int], max_errors: int = 20, skipped: list[str] | None = None
) -> list[LabelledExample]:
    """Every line of the file as a labelled example, read by the ingest readers (gzip by content, the size cap,
    over-long lines, a damaged stream) and checked by the ingest parser; any problem refuses the whole file.

    With ``skipped`` (a list), a line the parser refuses (a formula-like value, an unknown relation, bad JSON)
    is left out instead and its problems are appended there (``file:line: field message``); a problem with the
    file itself (a damaged stream, an empty file) still refuses it."""
    parser = LineParser(relation_ids=relation_ids, file_name=path.name, file_no=1)
    slugs = {pk: slug for slug, pk in relation_ids.items()}
    column = {name: index for index, name in enumerate(STAGING_COLUMNS)}
    examples: list[LabelledExample] = []
    problems: list[str] = []
    with path.open("rb", buffering=1024 * 1024) as raw:
        content = open_content(raw, max_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES)
        for _line_no, result, _raw in iter_jsonl(content, parser):
            if isinstance(result, list):
                named = [f"{e.file}:{e.line}: {e.field} {e.message}" for e in result]
                if skipped is not None and _raw is not None:
                    skipped.append("; ".join(named))
                    continue
                problems += named
                if len(problems) >= max_errors:
                    break
                continue
            row = result
            kind = row[column["kind"]]
            head = describe_head(
                head_kind=kind,
                head_text=row[column["head_text"]] or "",
                query=row[column["query_text"]],
                product=row[column["p1_title"]] or row[column["p1_id"]] or None,
                other_product=row[column["p2_title"]] or row[column["p2_id"]] or None,
                category=row[column["p1_cat"]] or None,
            )
            labels = row[column["labels"]]
            examples.append(
                LabelledExample(
                    Example(head, slugs[row[column["relation_id"]]], row[column["tail"]]),
                    dict(orjson.loads(labels)) if labels else {},
                )
            )
    if problems:
        shown = "\n".join(problems[:max_errors])
        raise ApplicationError(f"{path.name} has {len(problems)} problem(s); nothing was read:\n{shown}")
    return examples
