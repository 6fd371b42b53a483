"""Labelled candidates from a file in the ingest JSON Lines format (plain or gzip), for evaluation on data the
team did not write. Every line is checked with the ingest parser; a bad file is refused whole, naming the line
and the field, and nothing is stored."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from classifiers.ml.data import Example, describe_head
from knowledge.errors import ApplicationError
from knowledge.ingest.parsing import LineParser

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


def _product_title(product: Any) -> tuple[str | None, str | None]:
    if not isinstance(product, dict):
        return None, None
    return (product.get("title") or product.get("id")), product.get("category")


def read_labelled_file(path: Path, *, relation_ids: dict[str, int], max_errors: int = 20) -> list[LabelledExample]:
    parser = LineParser(relation_ids=relation_ids, file_name=path.name, file_no=1)
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    examples: list[LabelledExample] = []
    problems: list[str] = []
    with opener(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                problems.append(f"{path.name}:{line_no}: (line) is not valid JSON: {exc}")
                continue
            parsed = parser.parse(record, line_no)
            if isinstance(parsed, list):
                problems += [f"{e.file}:{e.line}: {e.field} {e.message}" for e in parsed]
                continue
            if len(problems) >= max_errors:
                break
            kind = record.get("kind") or (
                "search_buy" if "query" in record else "co_buy" if "other_product" in record else "plain"
            )
            title, category = _product_title(record.get("product"))
            other, _ = _product_title(record.get("other_product"))
            head = describe_head(
                head_kind=kind,
                head_text=str(record.get("head") or ""),
                query=record.get("query"),
                product=title,
                other_product=other,
                category=category,
            )
            examples.append(
                LabelledExample(Example(head, record["relation"], record["tail"]), dict(record.get("labels") or {}))
            )
    if problems:
        shown = "\n".join(problems[:max_errors])
        raise ApplicationError(f"{path.name} has {len(problems)} problem(s); nothing was read:\n{shown}")
    return examples
