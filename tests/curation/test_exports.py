"""Exports parse back with the right counts (JSON Lines, Neo4j CSV, N-Triples through rdflib); only admins export
and download; the Neo4j CSV keeps values as they are; the command writes the same files."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.urls import reverse

from curation import services
from curation.models import AcceptedEdge, ExportRun
from curation.services import export_folder
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(scored_pool: Any) -> list[Any]:
    candidates = scored_pool(4, tails=["=cmd|' /C calc'!A0", "keep feet warm", "+grip ice", "@sum(1)"])
    candidates += scored_pool(2, relation="used_for_function", category="Kitchen", tails=["chop onions"])
    curator = UserFactory(role="curator")
    for candidate in candidates:
        services.candidate_decide(candidate_id=candidate.pk, accept=True, curator=curator)
    return candidates


def run_export(fmt: str, filters: dict[str, Any] | None = None) -> tuple[ExportRun, Path]:
    run = services.export_run_create(format=fmt, filters=filters or {}, enqueue=False)
    assert services.export_run_claim(run_id=run.pk)
    run = services.export_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.message
    return run, export_folder() / run.file_name


def test_json_lines_one_edge_per_line_with_provenance_and_filters(graph: Any) -> None:
    run, path = run_export("jsonl")
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(lines) == run.counts["edges"] == run.progress_done == 6
    first = lines[0]
    assert first["head"]["kind"] == "query" and first["relation"] == "capable_of" and first["category"] == "Shoes"
    assert first["tail"]["label"].startswith("=cmd")  # JSON is data: kept verbatim
    assert {"candidate", "batch", "score", "model_versions", "curator", "accepted_at"} <= set(first["provenance"])
    assert len(run.sha256) == 64 and run.file_size == path.stat().st_size
    kitchen, _ = run_export("jsonl", {"relations": ["used_for_function"], "categories": ["Kitchen"]})
    assert kitchen.counts["edges"] == 2
    assert run_export("jsonl", {"min_score": 0.99})[0].counts["edges"] == 0
    assert run_export("jsonl", {"approved_from": "2000-01-01"})[0].counts["edges"] == 6


def test_neo4j_csv_has_import_headers_the_right_counts_and_values_as_they_are(graph: Any) -> None:
    run, path = run_export("neo4j")
    with zipfile.ZipFile(path) as archive:
        nodes = list(csv.reader(io.TextIOWrapper(archive.open("nodes.csv"), encoding="utf-8")))
        rels = list(csv.reader(io.TextIOWrapper(archive.open("relationships.csv"), encoding="utf-8")))
    assert nodes[0] == ["id:ID", "kind", "key", "label", ":LABEL"]
    assert rels[0][:3] == [":START_ID", ":END_ID", ":TYPE"]
    ids = {row[0] for row in nodes[1:]}
    typed = [row for row in rels[1:] if row[2] != "IN_CATEGORY"]
    assert len(typed) == run.counts["edges"] == 6
    assert all(row[0] in ids and row[1] in ids for row in rels[1:])  # every endpoint is a node
    assert {row[4] for row in nodes[1:]} >= {"Query", "Concept", "Product", "Category"}
    assert len(nodes) - 1 == run.counts["nodes"]
    cells = [cell for row in nodes[1:] + rels[1:] for cell in row]
    assert "=cmd|' /C calc'!A0 0" in cells and "+grip ice 2" in cells  # Neo4j runs no formulas: values as they are
    assert not any(cell.startswith("'") for cell in cells)


def test_n_triples_parse_back_through_rdflib(graph: Any) -> None:
    from rdflib import RDFS, Graph, URIRef

    run, path = run_export("ntriples")
    parsed = Graph()
    parsed.parse(path, format="nt")
    assert len(parsed) == run.counts["triples"]
    relation = URIRef("urn:plausi:relation/capable_of")
    assert len(list(parsed.triples((None, relation, None)))) == 4
    labels = {str(o) for o in parsed.objects(None, RDFS.label)}
    assert "=cmd|' /C calc'!A0 0" in labels  # literals are escaped by rdflib, not altered


def test_only_admins_export_and_download_and_files_are_not_public(graph: Any, api_client_for: Any, client: Any) -> None:
    assert api_client_for("curator").post(reverse("api-exports"), {"format": "jsonl"}, format="json").status_code == 403
    admin = api_client_for("admin")
    bad = admin.post(reverse("api-exports"), {"format": "xml", "filters": {"min_score": 3}}, format="json")
    assert bad.status_code == 400 and "format" in bad.json()
    queued = admin.post(reverse("api-exports"), {"format": "jsonl"}, format="json")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    run, _path = run_export("jsonl")
    assert api_client_for("curator").get(reverse("api-export-download", args=[run.pk])).status_code == 403
    response = admin.get(reverse("api-export-download", args=[run.pk]))
    assert response.status_code == 200 and response["X-Checksum-SHA256"] == run.sha256
    assert b"".join(response.streaming_content).count(b"\n") == 6
    assert client.get(f"/media/exports/{run.file_name}").status_code == 404


def test_the_export_command_writes_the_same_file(graph: Any, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "export_graph", "--format", "jsonl", "--output", str(tmp_path / "g.jsonl"), "--no-progress", stdout=out
    )
    assert (tmp_path / "g.jsonl").read_bytes().count(b"\n") == AcceptedEdge.objects.count()
    assert "sha256" in out.getvalue()


def test_instruction_data_has_generation_and_judgement_tasks_and_never_splits_a_head(graph: Any) -> None:
    from annotation.models import ConsolidatedLabel, Question

    plausible = Question.objects.get(slug="plausible")
    typical = Question.objects.get(slug="typical")
    for i, candidate in enumerate(graph):
        ConsolidatedLabel.objects.create(candidate=candidate, question=plausible, value=i % 2 == 0)
        ConsolidatedLabel.objects.create(candidate=candidate, question=typical, value=False)
    out = io.StringIO()
    call_command("export_graph", "--format", "instructions", "--no-progress", stdout=out)
    run = ExportRun.objects.get(format="instructions")
    records = [orjson.loads(line) for line in (export_folder() / run.file_name).read_bytes().splitlines()]
    tasks = [r["task"] for r in records]
    assert tasks.count("generate") == 6 and tasks.count("plausibility") == 6 and tasks.count("typicality") == 6
    assert {r["output"] for r in records if r["task"] == "typicality"} == {"no"}  # negatives are kept
    assert {r["output"] for r in records if r["task"] == "plausibility"} == {"yes", "no"}
    generate = next(r for r in records if r["task"] == "generate")
    assert generate["input"].startswith("A shopper searched for") and generate["output"]
    by_candidate: dict[int, set[str]] = {}
    for record in records:
        by_candidate.setdefault(record["candidate"], set()).add(record["split"])
    assert all(len(splits) == 1 for splits in by_candidate.values())  # one head's examples share a side
    assert run.counts["train"] + run.counts["validation"] == len(records)
