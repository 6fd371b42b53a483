"""Imports from the peer tools: a Label Studio JSON export and an Argilla / Hugging Face yes/no dataset become
candidates with their labels (labelled, method = the source, votes kept); a bad file is refused whole naming the
record and the field, with nothing imported, from the command and the API (admins only, never a 500)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotation.models import ConsolidatedLabel, NewLabelCount
from core.errors import ApplicationError
from curation import peers
from curation.services import peer_import_claim, peer_import_create, peer_import_execute
from knowledge.models import Candidate, IngestRun

pytestmark = pytest.mark.django_db


def task(head: str, tail: str, *votes: str, relation: str = "used_for_function", cancelled: str = "") -> dict[str, Any]:
    annotations = [
        {
            "id": i,
            "result": [{"type": "choices", "from_name": "plausible", "to_name": "text", "value": {"choices": [v]}}],
        }
        for i, v in enumerate(votes)
    ]
    if cancelled:
        annotations.append({"was_cancelled": True, "result": [{"type": "choices", "value": {"choices": [cancelled]}}]})
    return {"id": 1, "data": {"head": head, "relation": relation, "tail": tail}, "annotations": annotations}


@pytest.fixture
def studio_file(tmp_path: Path) -> Path:
    tasks = [
        task("yoga mat", "cushion joints during floor exercises", "Yes", "Yes", "No", cancelled="No"),
        task("yoga mat", "cook pasta", "No", "No"),
        task("camping tent", "shelter a family from rain", "Yes", "No"),  # a tie: no label
        task("hiking boots", "protect ankles on rough trails"),  # not annotated yet
    ]
    path = tmp_path / "project-1-export.json"
    path.write_bytes(orjson.dumps(tasks))
    return path


def import_now(path: Path, source: str, **mapping: Any) -> IngestRun:
    created = peer_import_create(files=[(path, path.name)], source=source, mapping=peers.PeerMapping(**mapping))
    assert peer_import_claim(run_id=created.run.pk)
    return peer_import_execute(run_id=created.run.pk)


def test_a_label_studio_export_becomes_labelled_candidates_with_their_votes(studio_file: Path) -> None:
    before = NewLabelCount.objects.filter(question__slug="plausible").values_list("count", flat=True).first() or 0
    run = import_now(studio_file, "labelstudio")
    assert run.status == "succeeded", (run.message, run.errors)
    assert run.candidates_created == 4 and "Imported 2 label(s) (labelstudio)" in run.message
    labels = {
        label.candidate.tail: label
        for label in ConsolidatedLabel.objects.select_related("candidate", "question").filter(
            question__slug="plausible"
        )
    }
    assert set(labels) == {"cushion joints during floor exercises", "cook pasta"}
    yes = labels["cushion joints during floor exercises"]
    assert (yes.value, yes.yes, yes.no, yes.method) == (True, 2, 1, "labelstudio")  # the cancelled vote left out
    assert yes.confidence == pytest.approx(2 / 3)
    assert (labels["cook pasta"].value, labels["cook pasta"].no) == (False, 2)
    statuses = dict(Candidate.objects.values_list("tail", "status"))
    assert statuses["cushion joints during floor exercises"] == statuses["cook pasta"] == "labelled"
    assert statuses["shelter a family from rain"] == statuses["protect ankles on rough trails"] == "ingested"
    assert NewLabelCount.objects.get(question__slug="plausible").count == before + 2


def test_an_argilla_dataset_with_responses_and_a_parquet_split_import_with_a_mapping(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [
        {
            "text": "winter boots",
            "reason": "keep feet warm in snow",
            "label": [{"value": "yes", "status": "submitted"}, {"value": "no", "status": "discarded"}],
        },
        {"text": "winter boots", "reason": "paint a fence", "label": [{"value": "no", "status": "submitted"}]},
    ]
    path = tmp_path / "argilla.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(record) for record in records))
    run = import_now(path, "argilla", head_field="text", tail_field="reason", relation="capable_of", question="typical")
    assert run.status == "succeeded", (run.message, run.errors)
    labels = dict(
        ConsolidatedLabel.objects.filter(question__slug="typical", method="argilla").values_list(
            "candidate__tail", "value"
        )
    )
    assert labels == {"keep feet warm in snow": True, "paint a fence": False}

    table = pa.table({"head": ["yoga mat", "yoga mat"], "tail": ["roll up small", "sing"], "label": [1, 0]})
    split = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(table, split)
    run = import_now(split, "argilla", relation="used_for_function")
    assert run.status == "succeeded", (run.message, run.errors)
    assert dict(
        ConsolidatedLabel.objects.filter(candidate__tail__in=["roll up small", "sing"]).values_list(
            "candidate__tail", "value"
        )
    ) == {"roll up small": True, "sing": False}


def test_a_bad_file_is_refused_whole_naming_the_record_and_the_field(studio_file: Path, tmp_path: Path) -> None:
    tasks = orjson.loads(studio_file.read_bytes())
    tasks[1]["data"]["tail"] = "=cmd|' /C calc'!A0"
    tasks[2]["annotations"][0]["result"][0]["value"]["choices"] = ["Maybe"]
    tasks[3]["data"]["relation"] = "no_such_relation"
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(tasks))
    with pytest.raises(ApplicationError) as refused:
        peer_import_create(files=[(bad, "bad.json")], source="labelstudio", mapping=peers.PeerMapping())
    message = refused.value.message
    assert "bad.json record 2, data.tail" in message and "formula" in message
    assert "bad.json record 3, annotations[0].result[0].value.choices: 'Maybe' is neither" in message
    assert "bad.json record 4, data.relation: unknown relation" in message
    assert refused.value.extra["error_count"] == 3
    assert not Candidate.objects.exists() and not IngestRun.objects.exists() and not ConsolidatedLabel.objects.exists()
    with pytest.raises(CommandError, match="record 3"):
        call_command("import_peer", str(bad), "--source", "labelstudio", stdout=io.StringIO())
    not_json = tmp_path / "broken.json"
    not_json.write_bytes(b"[{")
    with pytest.raises(CommandError, match=r"broken\.json"):
        call_command("import_peer", str(not_json), "--source", "labelstudio", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not one of the annotation questions"):
        call_command("import_peer", str(studio_file), "--source", "labelstudio", "--question", "tasty")
    assert not Candidate.objects.exists()


def test_the_command_imports_and_a_dry_run_imports_nothing(studio_file: Path) -> None:
    out = io.StringIO()
    call_command("import_peer", str(studio_file), "--source", "labelstudio", "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and not Candidate.objects.exists()
    call_command("import_peer", str(studio_file), "--source", "labelstudio", "--from-name", "plausible", stdout=out)
    assert Candidate.objects.count() == 4 and ConsolidatedLabel.objects.filter(method="labelstudio").count() == 2


def test_the_api_imports_for_admins_and_refuses_a_bad_file_with_a_400(
    studio_file: Path, api_client_for: Any, monkeypatch: Any
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr("core.outbox.outbox_send", lambda *args, **kwargs: sent.append(args))

    def upload(data: bytes, name: str = "export.json") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, data, content_type="application/json")

    body = {"source": "labelstudio", "files": [upload(studio_file.read_bytes())]}
    assert api_client_for("curator").post("/api/imports", body, format="multipart").status_code == 403
    response = api_client_for("admin").post(
        "/api/imports", {"source": "labelstudio", "files": [upload(studio_file.read_bytes())]}, format="multipart"
    )
    assert response.status_code == 202, response.content
    payload = response.json()
    assert (
        payload["records"] == 4
        and payload["labelled"] == 2
        and payload["run_url"].endswith(f"/{payload['ingest_run']}/")
    )
    assert peer_import_claim(run_id=payload["ingest_run"])
    assert peer_import_execute(run_id=payload["ingest_run"]).status == "succeeded"
    assert ConsolidatedLabel.objects.filter(method="labelstudio").count() == 2

    bad = orjson.loads(studio_file.read_bytes())
    del bad[0]["data"]["tail"]
    refused = api_client_for("admin").post(
        "/api/imports", {"source": "labelstudio", "files": [upload(orjson.dumps(bad), "bad.json")]}, format="multipart"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "file": "bad.json",
        "line": 1,
        "field": "data.tail",
        "message": "is required",
    }
    garbage = api_client_for("admin").post(
        "/api/imports", {"source": "argilla", "files": [upload(b"\xff\xfe", "x.json")]}, format="multipart"
    )
    assert garbage.status_code == 400
    # A form without files or source is refused in the same documented shape, its fields named (the fuzzer's find).
    empty = api_client_for("admin").post("/api/imports", {}, format="multipart")
    assert empty.status_code == 400
    assert empty.json() == {
        "detail": "The import request is invalid (files, source): nothing was created.",
        "fields": {"files": ["This list may not be empty."], "source": ["This field is required."]},
    }
