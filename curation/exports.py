"""Writing the accepted graph: JSON Lines, Neo4j bulk-import CSV (zip), RDF N-Triples. Rows stream from a
server-side cursor in slices and are written as they come, so memory stays bounded whatever the graph's size
(nodes already written are remembered in a bitmap of node ids, one byte each)."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import orjson
from django.db import connection

from knowledge.selectors import (
    CANDIDATE_BEHAVIOUR_JOINS,
    CANDIDATE_RELATION_JOIN,
    CANDIDATE_SENTENCE_JOIN,
    CANDIDATE_STATEMENT_TEMPLATE,
)
from knowledge.sentences import behaviour_sentence, statement_render

SLICE = 10_000

_EDGE_SQL = (
    "SELECT e.id, e.candidate_id, h.id, h.kind, h.key, h.label, r.slug, t.id, t.key, t.label, k.id, k.name, "
    "e.score, e.batch_id, e.versions, e.audit, u.username, e.accepted_at, p.id, p.key, p.label "
    "FROM curation_acceptededge e "
    "JOIN curation_graphnode h ON h.id = e.head_id "
    "JOIN knowledge_relation r ON r.id = e.relation_id "
    "JOIN curation_graphnode t ON t.id = e.tail_id "
    "LEFT JOIN knowledge_category k ON k.id = e.category_id "
    "LEFT JOIN auth_user u ON u.id = e.curator_id "
    "LEFT JOIN curation_graphnode p ON p.id = e.product_id "
)


def edge_filter_sql(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """WHERE clause and parameters for the export filters: relations (slugs), categories (names), min_score,
    approved_from / approved_to (ISO dates or datetimes)."""
    clauses, params = [], []
    if filters.get("relations"):
        clauses.append(f"r.slug IN ({', '.join(['%s'] * len(filters['relations']))})")
        params += list(filters["relations"])
    if filters.get("categories"):
        clauses.append(f"k.name IN ({', '.join(['%s'] * len(filters['categories']))})")
        params += list(filters["categories"])
    if filters.get("min_score") is not None:
        clauses.append("e.score >= %s")
        params.append(float(filters["min_score"]))
    if filters.get("approved_from"):
        clauses.append("e.accepted_at >= %s")
        params.append(filters["approved_from"])
    if filters.get("approved_to"):
        clauses.append("e.accepted_at < %s")
        params.append(filters["approved_to"])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def count_edges(filters: dict[str, Any]) -> int:
    where, params = edge_filter_sql(filters)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM curation_acceptededge e JOIN knowledge_relation r ON r.id = e.relation_id "
            "LEFT JOIN knowledge_category k ON k.id = e.category_id" + where,
            params,
        )
        return int(cursor.fetchone()[0])


def iter_edges(filters: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    where, params = edge_filter_sql(filters)
    with connection.chunked_cursor() as cursor:
        cursor.execute(_EDGE_SQL + where + " ORDER BY e.id", params)
        while rows := cursor.fetchmany(SLICE):
            yield from rows


def _json_value(value: Any) -> Any:
    if isinstance(value, str | bytes) and value and str(value)[:1] in "{[":
        return orjson.loads(value)
    return value


def edge_record(row: tuple[Any, ...]) -> dict[str, Any]:
    (
        _,
        candidate_id,
        _hid,
        head_kind,
        head_key,
        head_label,
        relation,
        _tid,
        tail_key,
        tail_label,
        _kid,
        category,
        score,
        batch_id,
        versions,
        audit,
        curator,
        accepted_at,
        _pid,
        product_key,
        product_label,
    ) = row
    return {
        "head": {"kind": head_kind, "key": head_key, "label": head_label},
        "relation": relation,
        "tail": {"key": tail_key, "label": tail_label},
        "product": {"key": product_key, "label": product_label} if product_key else None,
        "category": category,
        "provenance": {
            "candidate": candidate_id,
            "batch": batch_id,
            "score": score,
            "model_versions": _json_value(versions),
            "audit": _json_value(audit),
            "curator": curator,
            "accepted_at": accepted_at.isoformat() if hasattr(accepted_at, "isoformat") else accepted_at,
        },
    }


class _Seen:
    """Which node ids were written (a growable bytearray: one byte per id)."""

    def __init__(self) -> None:
        self.flags = bytearray(1024)

    def add(self, node_id: int) -> bool:
        """True the first time ``node_id`` is seen."""
        if node_id >= len(self.flags):
            self.flags.extend(bytes(max(node_id + 1 - len(self.flags), len(self.flags))))
        if self.flags[node_id]:
            return False
        self.flags[node_id] = 1
        return True


Progress = Callable[[int], None]


def write_jsonl(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    edges = 0
    for row in iter_edges(filters):
        out.write(orjson.dumps(edge_record(row)) + b"\n")
        edges += 1
        if edges % SLICE == 0:
            progress(edges)
    progress(edges)
    return {"edges": edges}


# A spreadsheet runs a cell as a formula when it starts with one of these (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SPREADSHEET_COLUMNS = [
    "head_kind",
    "head",
    "relation",
    "tail",
    "product",
    "category",
    "score",
    "batch",
    "candidate",
    "curator",
    "accepted_at",
]


def spreadsheet_cell(value: Any) -> Any:
    """A value as a spreadsheet should show it: text that a spreadsheet would run as a formula gets a leading
    apostrophe (shown as text, not run); numbers and empty cells stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_spreadsheet_csv(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    """One edge per row, for people who open the graph in Excel, LibreOffice or Google Sheets: UTF-8 with a byte
    order mark (so Excel reads it as UTF-8), every text cell neutralised (``spreadsheet_cell``). The only export
    that changes values: the others are read by programs that evaluate nothing."""
    edges = 0
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(SPREADSHEET_COLUMNS)
        for row in iter_edges(filters):
            record = edge_record(row)
            provenance = record["provenance"]
            cells = [
                record["head"]["kind"],
                record["head"]["label"],
                record["relation"],
                record["tail"]["label"],
                record["product"]["label"] if record["product"] else "",
                record["category"] or "",
                provenance["score"],
                provenance["batch"] or "",
                provenance["candidate"],
                provenance["curator"] or "",
                provenance["accepted_at"],
            ]
            writer.writerow([spreadsheet_cell(cell) for cell in cells])
            edges += 1
            if edges % SLICE == 0:
                progress(edges)
    finally:
        text.flush()
        text.detach()  # the caller owns and closes ``out``
    progress(edges)
    return {"edges": edges}


def write_neo4j_zip(path: Path, filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    """``nodes.csv`` and ``relationships.csv`` with neo4j-admin import headers, in a zip, for
    ``neo4j-admin database import full --nodes=nodes.csv --relationships=relationships.csv``.

    Values are written as they are (quoted by ``csv``): Neo4j's importer evaluates no formulas, so the apostrophe
    that protects a spreadsheet would only corrupt data such as "-20°C rated boots". This file is not meant for
    spreadsheets; the ingest check already refuses text that a spreadsheet would run."""
    seen = _Seen()
    categories: dict[int, str] = {}
    in_category: set[tuple[int, int]] = set()
    counts = {"edges": 0, "nodes": 0}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("relationships.csv", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            writer = csv.writer(text)
            writer.writerow(
                [
                    ":START_ID",
                    ":END_ID",
                    ":TYPE",
                    "category",
                    "score:float",
                    "batch:long",
                    "candidate:long",
                    "curator",
                    "accepted_at",
                ]
            )
            for row in iter_edges(filters):
                record = edge_record(row)
                head_id, tail_id, category_id, product_id = row[2], row[7], row[10], row[18]
                seen.add(head_id)
                seen.add(tail_id)
                if product_id is not None:
                    seen.add(product_id)
                    if category_id is not None:
                        in_category.add((product_id, category_id))
                if category_id is not None:
                    categories[category_id] = record["category"]
                provenance = record["provenance"]
                writer.writerow(
                    [
                        f"n{head_id}",
                        f"n{tail_id}",
                        record["relation"].upper(),
                        record["category"] or "",
                        record["provenance"]["score"],
                        provenance["batch"] or "",
                        provenance["candidate"],
                        provenance["curator"] or "",
                        provenance["accepted_at"],
                    ]
                )
                counts["edges"] += 1
                if counts["edges"] % SLICE == 0:
                    progress(counts["edges"])
            for product_id, category_id in sorted(in_category):
                writer.writerow(
                    [
                        f"n{product_id}",
                        f"c{category_id}",
                        "IN_CATEGORY",
                        categories[category_id],
                        "",
                        "",
                        "",
                        "",
                        "",
                    ]
                )
        with archive.open("nodes.csv", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            writer = csv.writer(text)
            writer.writerow(["id:ID", "kind", "key", "label", ":LABEL"])
            with connection.chunked_cursor() as cursor:
                cursor.execute("SELECT id, kind, key, label FROM curation_graphnode ORDER BY id")
                while rows := cursor.fetchmany(SLICE):
                    for node_id, kind, key, label in rows:
                        if node_id < len(seen.flags) and seen.flags[node_id]:
                            writer.writerow([f"n{node_id}", kind, key, label, kind.title()])
                            counts["nodes"] += 1
            for category_id, name in sorted(categories.items()):
                writer.writerow([f"c{category_id}", "category", name, name, "Category"])
                counts["nodes"] += 1
    progress(counts["edges"])
    return counts


def write_ntriples(out: IO[bytes], filters: dict[str, Any], progress: Progress, *, base: str) -> dict[str, int]:
    """One triple per edge (head, relation, tail) plus, once per node, its rdf:type and rdfs:label; terms are
    made and escaped by rdflib."""
    from rdflib import RDF, RDFS, Literal, URIRef

    def node(node_id: int) -> URIRef:
        return URIRef(f"{base}node/{node_id}")

    seen = _Seen()
    counts = {"edges": 0, "triples": 0}

    def emit(subject: Any, predicate: Any, obj: Any) -> None:
        out.write(f"{subject.n3()} {predicate.n3()} {obj.n3()} .\n".encode())
        counts["triples"] += 1

    type_prefix = f"{base}kind/"
    for row in iter_edges(filters):
        head_id, head_kind, head_label, relation, tail_id, tail_label = row[2], row[3], row[5], row[6], row[7], row[9]
        for node_id, kind, label in ((head_id, head_kind, head_label), (tail_id, "concept", tail_label)):
            if seen.add(node_id):
                emit(node(node_id), RDF.type, URIRef(type_prefix + quote(kind)))
                emit(node(node_id), RDFS.label, Literal(label))
        emit(node(head_id), URIRef(f"{base}relation/{quote(relation)}"), node(tail_id))
        counts["edges"] += 1
        if counts["edges"] % SLICE == 0:
            progress(counts["edges"])
    progress(counts["edges"])
    return counts


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


_LABEL_SQL = (
    "SELECT c.id, q.slug, l.value, c.head_kind, c.head_text, c.tail, r.slug, sq.text, p1.title, p1.external_id, "
    "p2.title, p2.external_id, c.pair_id, "
    + CANDIDATE_STATEMENT_TEMPLATE
    + " FROM annotation_consolidatedlabel l JOIN annotation_question q ON q.id = l.question_id "
    "JOIN knowledge_candidate c ON c.id = l.candidate_id "
    + CANDIDATE_RELATION_JOIN
    + CANDIDATE_BEHAVIOUR_JOINS
    + CANDIDATE_SENTENCE_JOIN
    + "WHERE l.value IS NOT NULL AND q.slug IN ('plausible', 'typical') ORDER BY c.id, q.slug"
)


def split_of(head_key: str, validation_share: float = 0.1) -> str:
    """train or validation by a hash of the head (the behaviour pair, or a plain head's text), so one head's
    examples are never on both sides."""
    digest = hashlib.sha1(head_key.encode(), usedforsecurity=False).digest()
    return "validation" if int.from_bytes(digest[:4], "big") / 2**32 < validation_share else "train"


def split3_of(head_key: str, validation_share: float = 0.1, test_share: float = 0.1) -> str:
    """train, validation or test by the same hash of the head as ``split_of``: a head that ``split_of`` puts in
    validation stays there, and the test split is taken from what was train."""
    digest = hashlib.sha1(head_key.encode(), usedforsecurity=False).digest()
    position = int.from_bytes(digest[:4], "big") / 2**32
    if position < validation_share:
        return "validation"
    return "test" if position < validation_share + test_share else "train"


def _behaviour(head_kind: str, query: str | None, product: str | None, other: str | None, head_text: str) -> str:
    return behaviour_sentence(
        head_kind=head_kind, query=query, product=product, other_product=other, head_text=head_text, quotes=('"', '"')
    )


def instruction_records(
    filters: dict[str, Any], split: Callable[[str], str] | None = None, *, details: bool = False
) -> Iterator[dict[str, Any]]:
    """The instruction-tuning records (see ``write_instructions``), streamed: the ``generate`` ones first, in edge
    order, then the judgements, in candidate order. ``split`` maps a head key to its split (``split_of`` by
    default; the dataset folder splits three ways with ``split3_of``). ``details`` adds ``head_key``,
    ``relation`` and ``tail`` (COSMO-LM's training reads them; the export's files leave them out)."""
    split_for = split or split_of
    where, params = edge_filter_sql(filters)
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT c.pair_id, r.slug, t.label, e.candidate_id, c.head_kind, c.head_text, sq.text, "
            "p1.title, p2.title FROM curation_acceptededge e JOIN curation_graphnode h ON h.id = e.head_id "
            "JOIN knowledge_relation r ON r.id = e.relation_id JOIN curation_graphnode t ON t.id = e.tail_id "
            "LEFT JOIN knowledge_category k ON k.id = e.category_id "
            "JOIN knowledge_candidate c ON c.id = e.candidate_id "
            + CANDIDATE_BEHAVIOUR_JOINS
            + where
            + " ORDER BY e.id",
            params,
        )
        while rows := cursor.fetchmany(SLICE):
            for pair, relation, tail, candidate, head_kind, head_text, query, product, other in rows:
                head_key = f"pair:{pair}" if pair else f"head:{head_text}"
                record = {
                    "task": "generate",
                    "instruction": f"Explain the shopping behaviour with the relation {relation}: answer with a "
                    "short phrase.",
                    "input": _behaviour(head_kind, query, product, other, head_text),
                    "output": tail,
                    "split": split_for(head_key),
                    "candidate": candidate,
                }
                if details:
                    record.update(head_key=head_key, relation=relation, tail=tail)
                yield record
    with connection.chunked_cursor() as cursor:
        cursor.execute(_LABEL_SQL)
        while rows := cursor.fetchmany(SLICE):
            for row in rows:
                candidate, slug, value, head_kind, head_text, tail, relation, query, p1, p1_id, p2, p2_id, pair = row[
                    :13
                ]
                task = "plausibility" if slug == "plausible" else "typicality"
                head_key = f"pair:{pair}" if pair else f"head:{head_text}"
                statement = _behaviour(head_kind, query, p1 or p1_id, p2 or p2_id, head_text)
                record = {
                    "task": task,
                    "instruction": f"Is this a {'plausible' if task == 'plausibility' else 'typical'} reason for "
                    "the behaviour? Answer yes or no.",
                    "input": f"{statement} Reason ({relation}): {tail}",
                    "output": "yes" if value else "no",
                    # the candidate as annotators read it (added in issue 20; "input" keeps its old form)
                    "statement": statement_render(
                        template=row[13],
                        head_kind=head_kind,
                        tail=tail,
                        head_text=head_text,
                        query=query,
                        product=p1 or p1_id,
                        other_product=p2 or p2_id,
                        quotes=("'", "'"),
                    ),
                    "split": split_for(head_key),
                    "candidate": candidate,
                }
                if details:
                    record.update(head_key=head_key, relation=relation, tail=tail)
                yield record


def write_instructions(out: IO[bytes], filters: dict[str, Any], progress: Progress) -> dict[str, int]:
    """Multi-task instruction-tuning data (COSMO-LM): ``generate`` (behaviour + relation -> an accepted tail) from
    the accepted edges, and ``plausibility`` / ``typicality`` judgements (candidate -> yes/no) from the consolidated
    labels, negatives included, each with its ``statement`` (the sentence annotators judged).
    ``split`` is decided by the head, never mixing one head across train/validation."""
    counts = {"edges": 0, "generate": 0, "plausibility": 0, "typicality": 0, "train": 0, "validation": 0}
    for record in instruction_records(filters):
        out.write(orjson.dumps(record) + b"\n")
        task = record["task"]
        counts[task] += 1
        counts[record["split"]] += 1
        if task == "generate":
            counts["edges"] += 1
            if counts["edges"] % SLICE == 0:
                progress(counts["edges"])
    progress(counts["edges"])
    return counts
