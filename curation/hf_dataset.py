"""A Hugging Face dataset folder: the labelled candidates and the instruction data as Parquet per split, with a
dataset card (``README.md``) whose YAML front matter names the files, so ``datasets.load_dataset(folder)`` opens
it as it is (the ``candidates`` configuration; ``load_dataset(folder, "instructions")`` the other one).

Splits are decided by the head (the behaviour pair, or a plain head's text) with ``split3_of``: one head's rows are
never on two sides, the same head falls in the same split in both configurations, and the assignment is the same
in every export. Rows are written in slices through one ``ParquetWriter`` per split, so memory stays bounded.
The export run stores the folder zipped (files at the root of the archive).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from django.utils import timezone

from annotation.exports import labelled_candidates_iter, question_definitions
from classifiers.selectors import active_versions
from curation.exports import SLICE, instruction_records, split3_of
from knowledge.sentences import behaviour_sentence, statement_render

Progress = Callable[[int], None]
SPLITS = ("train", "validation", "test")
CONFIGS = ("candidates", "instructions")
INSTRUCTION_COLUMNS = ("task", "instruction", "input", "output", "statement", "candidate")


def platform_version() -> str:
    try:
        return importlib.metadata.version("plausi")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _SplitWriter:
    """One Parquet file per split of a configuration, fed a row at a time and flushed a slice at a time."""

    def __init__(self, folder: Path, schema: Any) -> None:
        import pyarrow.parquet as pq

        folder.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.writers = {split: pq.ParquetWriter(folder / f"{split}.parquet", schema) for split in SPLITS}
        self.buffers: dict[str, dict[str, list[Any]]] = {split: self._empty() for split in SPLITS}
        self.counts = dict.fromkeys(SPLITS, 0)

    def _empty(self) -> dict[str, list[Any]]:
        return {name: [] for name in self.schema.names}

    def add(self, split: str, row: dict[str, Any]) -> None:
        buffer = self.buffers[split]
        for name in self.schema.names:
            buffer[name].append(row.get(name))
        self.counts[split] += 1
        if len(buffer[self.schema.names[0]]) >= SLICE:
            self._flush(split)

    def _flush(self, split: str) -> None:
        import pyarrow as pa

        buffer = self.buffers[split]
        if buffer[self.schema.names[0]]:
            self.writers[split].write_table(pa.Table.from_pydict(buffer, schema=self.schema))
            self.buffers[split] = self._empty()

    def close(self) -> None:
        for split in SPLITS:
            self._flush(split)
            self.writers[split].close()


def _candidate_schema(slugs: list[str]) -> Any:
    import pyarrow as pa

    fields = [
        pa.field("candidate", pa.int64()),
        pa.field("head_kind", pa.string()),
        pa.field("behaviour", pa.string()),
        pa.field("query", pa.string()),
        pa.field("product", pa.string()),
        pa.field("other_product", pa.string()),
        pa.field("head", pa.string()),
        pa.field("relation", pa.string()),
        pa.field("tail", pa.string()),
        pa.field("statement", pa.string()),
    ]
    fields += [pa.field(slug, pa.bool_()) for slug in slugs]
    fields.append(pa.field("label_methods", pa.list_(pa.string())))
    return pa.schema(fields)


def _instruction_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("task", pa.string()),
            pa.field("instruction", pa.string()),
            pa.field("input", pa.string()),
            pa.field("output", pa.string()),
            pa.field("statement", pa.string()),
            pa.field("candidate", pa.int64()),
        ]
    )


def _candidate_rows() -> Iterator[tuple[str, dict[str, Any]]]:
    """(split, row) per labelled candidate."""
    for row in labelled_candidates_iter():
        candidate, pair, head_kind, head_text, tail, relation, query, p1, p1_id, p2, p2_id, template = row[:12]
        labels, methods = row[12], row[13]
        product, other = p1 or p1_id, p2 or p2_id
        yield (
            split3_of(f"pair:{pair}" if pair else f"head:{head_text}"),
            {
                "candidate": candidate,
                "head_kind": head_kind,
                "behaviour": behaviour_sentence(
                    head_kind=head_kind,
                    query=query,
                    product=product,
                    other_product=other,
                    head_text=head_text,
                    quotes=('"', '"'),
                ),
                "query": query,
                "product": product,
                "other_product": other,
                "head": head_text or None,
                "relation": relation,
                "tail": tail,
                "statement": statement_render(
                    template=template,
                    head_kind=head_kind,
                    tail=tail,
                    head_text=head_text,
                    query=query,
                    product=product,
                    other_product=other,
                    quotes=("'", "'"),
                ),
                **labels,
                "label_methods": sorted(methods or []),
            },
        )


def write_hf_dataset(path: Path, filters: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Write the dataset folder next to ``path``, zip it into ``path`` and remove the folder; returns the counts
    (rows per configuration and split, Yes/No per question)."""
    folder = path.with_name(path.name + ".d")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        questions = question_definitions()
        slugs = [question["slug"] for question in questions]
        label_counts = {slug: {"yes": 0, "no": 0} for slug in slugs}
        written = 0
        candidates = _SplitWriter(folder / "candidates", _candidate_schema(slugs))
        try:
            for split, row in _candidate_rows():
                candidates.add(split, row)
                for slug in slugs:
                    if row.get(slug) is not None:
                        label_counts[slug]["yes" if row[slug] else "no"] += 1
                written += 1
                if written % SLICE == 0:
                    progress(written)
        finally:
            candidates.close()
        instructions = _SplitWriter(folder / "instructions", _instruction_schema())
        tasks: dict[str, int] = {}
        try:
            for record in instruction_records(filters, split=split3_of):
                instructions.add(record["split"], {name: record.get(name) for name in INSTRUCTION_COLUMNS})
                tasks[record["task"]] = tasks.get(record["task"], 0) + 1
                written += 1
                if written % SLICE == 0:
                    progress(written)
        finally:
            instructions.close()
        counts: dict[str, Any] = {
            "rows": written,
            "candidates": sum(candidates.counts.values()),
            "instructions": sum(instructions.counts.values()),
            "splits": {"candidates": candidates.counts, "instructions": instructions.counts},
            "labels": label_counts,
            "tasks": tasks,
        }
        card = dataset_card(counts=counts, questions=questions, filters=filters)
        (folder / "README.md").write_text(card, encoding="utf-8")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:  # Parquet is compressed
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(folder).as_posix())
        progress(written)
        return counts
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def dataset_card(*, counts: dict[str, Any], questions: list[dict[str, Any]], filters: dict[str, Any]) -> str:
    """The dataset card: YAML front matter (the configurations and their files, for ``load_dataset``), then the
    counts, the label definitions (the annotation questions) and the provenance."""
    lines = ["---", "pretty_name: Plausi e-commerce commonsense knowledge", "language:", "- en", "configs:"]
    listed = [config for config in CONFIGS if any(counts["splits"][config].values())] or [CONFIGS[0]]
    for config in listed:
        lines.append(f"- config_name: {config}")
        if config == listed[0]:
            lines.append("  default: true")
        lines.append("  data_files:")
        # an empty split is left out (``datasets`` refuses a split without rows); a configuration keeps train
        for split in [s for s in SPLITS if counts["splits"][config][s]] or ["train"]:
            lines += [f"  - split: {split}", f"    path: {config}/{split}.parquet"]
    lines += ["tags:", "- commonsense", "- e-commerce", "- knowledge-graph", "---", ""]
    lines += [
        "# Plausi e-commerce commonsense knowledge",
        "",
        "Candidate knowledge about shopping behaviour (head, relation, tail) judged by annotators, and instruction",
        "data made from it. `datasets.load_dataset(folder)` opens the `candidates` configuration;",
        '`datasets.load_dataset(folder, "instructions")` the instruction data. A split without rows is not listed',
        "above (its empty Parquet file stays in the folder), nor is a configuration without any.",
        "",
        "## Counts",
        "",
        "| configuration | train | validation | test |",
        "|---|---|---|---|",
    ]
    for config in ("candidates", "instructions"):
        split_counts = counts["splits"][config]
        lines.append(f"| {config} | " + " | ".join(f"{split_counts[split]:,}" for split in SPLITS) + " |")
    per_task = ", ".join(f"{task}: {count:,}" for task, count in sorted(counts["tasks"].items()))
    lines += ["", f"Instruction rows per task: {per_task or 'none'}."]
    lines += [
        "",
        "## Labels",
        "",
        "The `candidates` configuration has one row per candidate with at least one decided label and one column per",
        "annotation question: true (Yes), false (No), or empty (not decided: the question was not asked, which",
        "happens after an earlier question was answered No, or was tied). `label_methods` says how the labels were",
        "decided (`majority` of annotators, `gold`, a curator's `audit`, or an import).",
        "",
        "| column | question | Yes | No | wording |",
        "|---|---|---|---|---|",
    ]
    for question in questions:
        slug = question["slug"]
        label_count = counts["labels"].get(slug, {"yes": 0, "no": 0})
        wording = str(question["template"]).replace("|", "\\|")
        retired = "" if question["active"] else " (retired)"
        lines.append(
            f"| `{slug}` | {question['label']}{retired} | {label_count['yes']:,} | {label_count['no']:,} | {wording} |"
        )
    versions = {
        target: {"id": version.pk, "kind": version.kind, "token": version.version_token, "threshold": version.threshold}
        for target, version in sorted(active_versions().items())
    }
    lines += [
        "",
        "## Splits",
        "",
        "By a hash of the head (the behaviour pair, or a plain head's text): 80% train, 10% validation, 10% test; one",
        "head's rows are always in one split, the same in both configurations and in every export.",
        "",
        "## Provenance",
        "",
        f"- Platform: Plausi {platform_version()}",
        f"- Exported at: {timezone.now().isoformat()}",
        f"- Graph filters (instruction data): `{orjson.dumps(filters).decode()}`",
        f"- Active classifier versions: `{orjson.dumps(versions).decode()}`",
        "",
    ]
    return "\n".join(lines)
