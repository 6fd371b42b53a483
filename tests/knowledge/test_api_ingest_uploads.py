"""POST /api/ingest/ with bad uploads: a clear 4xx, or a queued run that fails with the line named; never a 500.

The queued run is executed here, in the test, by the same two service calls the Celery task makes (claim, then
execute), so no worker is needed; tests/knowledge/test_api_ingest_worker.py covers the real worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from knowledge.models import IngestRun
from knowledge.services import ingest_run_claim, ingest_run_execute
from tests.knowledge.bad_files import BAD_FILES, CAP, GOOD, assert_nothing_imported, jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api_client_for: Any, settings: Any, tmp_path: Path) -> APIClient:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.INGEST_MAX_DECOMPRESSED_BYTES = CAP
    client: APIClient = api_client_for("admin")
    return client


def upload(client: APIClient, *files: SimpleUploadedFile, **fields: Any) -> Any:
    return client.post(reverse("api-ingest"), {"files": list(files), **fields}, format="multipart")


def run_like_the_worker(run_id: int) -> None:
    assert ingest_run_claim(run_id=run_id, claimer="test-task")
    ingest_run_execute(run_id=run_id)


@pytest.mark.parametrize(
    "case",
    [
        "malformed-json",
        "wrong-type-tail",
        "huge-field",
        "invalid-utf8-jsonl",
        "invalid-utf8-csv",
        "formula-csv-tail",
        "formula-csv-title",
        "formula-jsonl-head",
        "gzip-bomb-past-the-cap",
        "gzip-bomb-within-the-cap-one-endless-line",
        "empty-jsonl",
        "blank-lines-only",
        "binary-as-jsonl",
        "csv-header-only",
        "jsonl-bad-last-line",
        "nul-in-a-field-name",
    ],
)
def test_a_bad_upload_is_queued_and_its_run_fails_with_the_line_named(case: str, admin: APIClient) -> None:
    bad = BAD_FILES[case]
    response = upload(admin, SimpleUploadedFile(bad.name, bad.content))
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    run_like_the_worker(run_id)
    body = admin.get(reverse("api-ingest-run", args=[run_id])).json()
    assert body["status"] == "failed" and "nothing was imported" in body["message"]
    assert body["has_rejects_file"] is False
    named = [(error["file"], error["line"], error["field"]) for error in body["errors"]]
    assert (bad.name, bad.line, bad.field) in named, body["errors"]
    assert_nothing_imported()


def test_a_bad_upload_with_skip_invalid_keeps_only_the_good_lines(admin: APIClient) -> None:
    bad = BAD_FILES["formula-jsonl-generator"]
    response = upload(admin, SimpleUploadedFile(bad.name, bad.content), skip_invalid="true")
    assert response.status_code == 202
    run_like_the_worker(response.json()["id"])
    body = admin.get(reverse("api-ingest-run", args=[response.json()["id"]])).json()
    assert body["status"] == "succeeded" and body["lines_valid"] == 1 and body["lines_invalid"] == 1
    assert body["has_rejects_file"] is True


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"file": SimpleUploadedFile("c.jsonl", jsonl(GOOD))},  # a misspelt field name
        {"files": "c.jsonl"},  # text, not a file
        {"format": "jsonl"},
    ],
    ids=["nothing", "misspelt-field", "text-instead-of-a-file", "only-options"],
)
def test_an_upload_without_the_files_field_is_a_clear_400(admin: APIClient, data: dict[str, Any]) -> None:
    response = admin.post(reverse("api-ingest"), data, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()
    assert IngestRun.objects.count() == 0


def test_an_upload_over_the_configured_cap_is_a_413_and_stores_nothing(
    admin: APIClient, settings: Any, tmp_path: Path
) -> None:
    settings.INGEST_MAX_UPLOAD_BYTES = 1_000
    response = upload(admin, SimpleUploadedFile("big.jsonl", jsonl(*[GOOD] * 10)))
    assert response.status_code == 413
    assert "the limit is 1000 bytes" in response.json()["detail"]
    assert IngestRun.objects.count() == 0
    assert not (tmp_path / "private").exists() or not any((tmp_path / "private").rglob("*.jsonl"))


def test_several_files_over_the_cap_together_are_refused_too(admin: APIClient, settings: Any) -> None:
    settings.INGEST_MAX_UPLOAD_BYTES = 1_000
    files = [SimpleUploadedFile(f"part{i}.jsonl", jsonl(*[GOOD] * 2)) for i in range(4)]
    assert upload(admin, *files).status_code == 413
    assert IngestRun.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"files": ["c.jsonl"]}', "application/json"),
        (jsonl(GOOD), "application/x-ndjson"),
        (jsonl(GOOD), "text/plain"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
    ],
    ids=["json", "ndjson", "text", "gzip"],
)
def test_a_body_that_is_not_a_form_is_a_415(admin: APIClient, body: bytes, content_type: str) -> None:
    response = admin.generic("POST", reverse("api-ingest"), body, content_type=content_type)
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]
    assert IngestRun.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"--x\r\nContent-Disposition: form-data; name=files\r\n\r\n", "multipart/form-data"),  # no boundary
        (b"garbage", "multipart/form-data; boundary=x"),
        (
            b'--x\r\nContent-Disposition: form-data; name="files"; filename="c.jsonl"\r\n\r\n{}',
            "multipart/form-data; boundary=x",
        ),
    ],
    ids=["no-boundary", "garbage", "unterminated"],
)
def test_a_broken_multipart_body_is_a_4xx(admin: APIClient, body: bytes, content_type: str) -> None:
    response = admin.generic("POST", reverse("api-ingest"), body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content
    assert IngestRun.objects.count() == 0


@pytest.mark.parametrize("name", ["photo.png", "c.exe", "candidates", "c.jsonl.zip"])
def test_a_file_whose_name_gives_no_known_format_is_a_400(admin: APIClient, name: str) -> None:
    response = upload(admin, SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n", content_type="image/png"))
    assert response.status_code == 400 and "cannot tell the format" in response.json()["detail"]
    assert IngestRun.objects.count() == 0


def test_an_unknown_format_option_is_a_400(admin: APIClient) -> None:
    response = upload(admin, SimpleUploadedFile("c.jsonl", jsonl(GOOD)), format="xml")
    assert response.status_code == 400 and "format" in response.json()
    assert IngestRun.objects.count() == 0


def test_more_files_than_django_accepts_in_one_request_is_a_4xx(admin: APIClient) -> None:
    files = [SimpleUploadedFile(f"c{i}.jsonl", jsonl(GOOD)) for i in range(101)]
    response = upload(admin, *files)
    assert 400 <= response.status_code < 500
    assert IngestRun.objects.count() == 0


def test_an_upload_whose_name_holds_a_nul_is_stored_under_a_cleaned_name(admin: APIClient) -> None:
    response = upload(admin, SimpleUploadedFile("good\x00name.jsonl", GOOD))
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    run_like_the_worker(run_id)
    body = admin.get(reverse("api-ingest-run", args=[run_id])).json()
    assert body["status"] == "succeeded", body
    assert "\x00" not in body["files"][0]["name"] and body["files"][0]["name"].endswith("name.jsonl")
