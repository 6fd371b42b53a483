"""Exports of annotation's data: every answer and every consolidated label parse back (JSON Lines and CSV) with
the right counts, pseudonymised annotators (stable, never the username) and the gold flag; usernames only when an
admin asks; only admins export (API and page); the Hugging Face dataset folder opens with ``datasets``."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.urls import reverse

from annotation.models import Answer, ConsolidatedLabel
from annotation.services import answer_submit, assignment_next, queue_fill
from curation import services
from curation.data_exports import annotator_pseudonym
from curation.models import ExportRun
from curation.services import export_folder
from tests.factories import CandidateFactory, UserFactory

pytestmark = pytest.mark.django_db


def walk(user: Any, value_for: Any) -> int:
    given = 0
    while (step := assignment_next(annotator=user)) is not None:
        answer_submit(
            annotator=user,
            assignment_id=step.assignment.pk,
            question_slug=step.question.slug,
            value=value_for(step.assignment.candidate_id, step.question.slug),
            idempotency_key=uuid.uuid4().hex,
        )
        given += 1
    return given


@pytest.fixture
def answered(settings: Any) -> dict[str, Any]:
    """Two annotators answer six candidates (one gold); their answers settle labels."""
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "GOLD_RATE": 1.0, "GOLD_MIN_ANSWERS": 100}
    gold = CandidateFactory(status="pooled", known_labels={"complete": True, "relevant": True})
    plain = CandidateFactory.create_batch(5, status="pooled")
    queue_fill()
    alice, bob = UserFactory(role="annotator", username="alice"), UserFactory(role="annotator", username="bob")
    walk(alice, lambda candidate_id, slug: slug != "typical")
    walk(bob, lambda candidate_id, slug: slug != "typical")
    return {"gold": gold, "plain": plain, "annotators": (alice, bob)}


def run_export(fmt: str, filters: dict[str, Any] | None = None) -> tuple[ExportRun, Path]:
    run = services.export_run_create(format=fmt, filters=filters or {}, enqueue=False)
    assert services.export_run_claim(run_id=run.pk)
    run = services.export_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.message
    return run, export_folder() / run.file_name


def test_answers_export_every_answer_with_pseudonyms_that_are_stable_and_the_gold_flag(answered: Any) -> None:
    run, path = run_export("answers")
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(records) == run.counts["answers"] == run.progress_done == Answer.objects.count() > 0
    assert set(records[0]) == {
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
    }
    alice, bob = answered["annotators"]
    names = {record["annotator"] for record in records}
    assert names == {annotator_pseudonym(alice.pk), annotator_pseudonym(bob.pk)}
    assert not names & {"alice", "bob"} and all(name.startswith("annotator-") for name in names)
    assert {record["gold"] for record in records if record["candidate"] == answered["gold"].pk} == {True}
    assert {record["gold"] for record in records if record["candidate"] != answered["gold"].pk} == {False}
    stored = {(a.pk, a.candidate_id, a.question.slug, a.value, a.assignment_id) for a in Answer.objects.all()}
    assert {(r["answer"], r["candidate"], r["question"], r["value"], r["assignment"]) for r in records} == stored
    again, again_path = run_export("answers")
    assert again_path.read_bytes() == path.read_bytes() and again.sha256 == run.sha256  # stable across exports
    _named, named_path = run_export("answers", {"include_usernames": True})
    assert {orjson.loads(line)["annotator"] for line in named_path.read_bytes().splitlines()} == {"alice", "bob"}


def test_answers_and_labels_csv_parse_back_with_the_same_rows(answered: Any) -> None:
    run, path = run_export("answers_csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == run.counts["answers"] == Answer.objects.count()
    assert {row["gold"] for row in rows} == {"true", "false"} and {row["value"] for row in rows} == {"true", "false"}
    run, path = run_export("labels_csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == run.counts["labels"] == ConsolidatedLabel.objects.count()


def test_labels_export_every_consolidated_label_with_method_votes_confidence_and_agreement(answered: Any) -> None:
    run, path = run_export("labels")
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(records) == run.counts["labels"] == ConsolidatedLabel.objects.count() > 0
    by_key = {(r["candidate"], r["question"]): r for r in records}
    for label in ConsolidatedLabel.objects.select_related("question"):
        record = by_key[(label.candidate_id, label.question.slug)]
        assert (record["value"], record["method"], record["yes"], record["no"]) == (
            label.value,
            label.method,
            label.yes,
            label.no,
        )
        assert record["votes"] == label.yes + label.no
        assert record["agreement"] == (max(label.yes, label.no) / record["votes"] if record["votes"] else None)
    gold_records = [r for r in records if r["candidate"] == answered["gold"].pk]
    assert gold_records and all(r["gold"] and r["method"] == "gold" for r in gold_records)
    majority = [r for r in records if r["method"] == "majority"]
    assert majority and all(r["agreement"] == 1.0 and r["confidence"] > 0 for r in majority)


def test_hf_dataset_folder_opens_with_the_datasets_library(answered: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    run, path = run_export("hf_dataset")
    folder = tmp_path / "dataset"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    assert (folder / "README.md").is_file() and (folder / "candidates" / "train.parquet").is_file()
    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    labelled = ConsolidatedLabel.objects.filter(value__isnull=False).values("candidate_id").distinct().count()
    assert sum(len(loaded[split]) for split in loaded) == run.counts["candidates"] == labelled == 6
    rows = [row for split in loaded for row in loaded[split]]
    assert {row["candidate"] for row in rows} == {answered["gold"].pk, *(c.pk for c in answered["plain"])}
    assert all(row["complete"] is True and row["statement"] and row["relation"] for row in rows)
    assert set(loaded) <= {"train", "validation", "test"}
    instructions = datasets.load_dataset(str(folder), "instructions", cache_dir=str(tmp_path / "cache"))
    assert sum(len(instructions[split]) for split in instructions) == run.counts["instructions"]
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "configs:" in card and "## Labels" in card and "`plausible`" in card and "Provenance" in card
    assert f"| candidates | {run.counts['splits']['candidates']['train']:,} |" in card


def test_export_command_writes_answers_and_unzips_the_dataset(answered: Any, tmp_path: Path) -> None:
    out = io.StringIO()
    a_file = str(tmp_path / "a.jsonl")
    call_command("export_graph", "--format", "answers", "--no-progress", "--output", a_file, stdout=out)
    assert len((tmp_path / "a.jsonl").read_bytes().splitlines()) == Answer.objects.count()
    call_command("export_graph", "--format", "hf_dataset", "--no-progress", "--output", f"{tmp_path}/ds/", stdout=out)
    assert (tmp_path / "ds" / "README.md").is_file() and (tmp_path / "ds" / "instructions" / "test.parquet").is_file()
    call_command(
        "export_graph", "--format", "answers", "--include-usernames", "--no-progress", "--output", str(tmp_path / "n")
    )
    assert b'"annotator":"alice"' in (tmp_path / "n").read_bytes()


def test_only_admins_export_answers_through_the_api_and_the_page(
    answered: Any, api_client_for: Any, client: Any, make_user: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("core.outbox.outbox_send", lambda *args, **kwargs: None)
    body = {"format": "answers", "filters": {"include_usernames": True}}
    for role in ("curator", "annotator"):
        assert api_client_for(role).post("/api/exports", body, format="json").status_code == 403
    response = api_client_for("admin").post("/api/exports", body, format="json")
    assert response.status_code == 202, response.content
    run = ExportRun.objects.get(pk=response.json()["id"])
    assert run.format == "answers" and run.filters == {"include_usernames": True}
    assert services.export_run_claim(run_id=run.pk)
    services.export_run_execute(run_id=run.pk)
    download = api_client_for("admin").get(f"/api/exports/{run.pk}/download")
    assert download.status_code == 200 and download["Content-Type"] == "application/x-ndjson"
    assert api_client_for("curator").get(f"/api/exports/{run.pk}/download").status_code == 403
    client.force_login(make_user("curator"))
    assert client.get(reverse("exports")).status_code == 403
    client.force_login(make_user("admin"))
    page = client.get(reverse("exports"))
    assert page.status_code == 200 and b'value="answers"' in page.content and b"include_usernames" in page.content
    response = client.post(reverse("exports"), {"format": "labels_csv"})
    assert response.status_code == 302
    assert ExportRun.objects.filter(format="labels_csv").exists()
