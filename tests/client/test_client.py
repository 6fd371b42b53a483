"""The Python client (plausi_client) against the real server: pytest-django's live server and a real Celery worker
on Redis; nothing of the server is mocked."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from plausi_client import (
    ApiError,
    AuthenticationError,
    Client,
    NotFound,
    PermissionDenied,
    Run,
    RunFailed,
)
from tests.factories import TEST_PASSWORD, UserFactory, api_key_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def admin(live_server: Any) -> Any:
    with Client(live_server.url, token=api_key_for(UserFactory(role="admin", username="client-admin"))) as client:
        yield client


def test_an_upload_is_ingested_with_its_progress_reported_and_its_candidates_listed_page_by_page(
    celery_worker_process: Any, admin: Client
) -> None:
    seen: list[Run] = []
    run = admin.upload([EXAMPLES / "candidates.jsonl"])
    assert run.kind == "ingest" and run.status in ("queued", "running")  # the worker may be quicker than the answer
    done = admin.wait_for_ingest(run, progress=seen.append, timeout=60)
    assert done.succeeded and done["candidates_created"] == 3
    assert seen[0].status in ("queued", "running") and seen[-1].status == "succeeded" and seen[-1].progress == 1.0
    assert [r.progress for r in seen] == sorted(r.progress for r in seen)
    listed = list(admin.candidates(page_size=1))  # three pages of one
    assert len(listed) == 3 and len({c["id"] for c in listed}) == 3
    assert {c["relation"] for c in admin.candidates(relation="capable_of")} == {"capable_of"}
    assert admin.me()["roles"] == ["admin"]


def test_a_bad_upload_raises_with_the_file_line_and_field_of_each_problem(
    celery_worker_process: Any, admin: Client
) -> None:
    run = admin.upload(("bad.jsonl", b'{"head": "mug", "relation": "used_as", "tail": "cup"}\n{oops\n'))
    with pytest.raises(RunFailed) as failed:
        admin.wait_for_ingest(run.id, timeout=60)
    assert failed.value.run.status == "failed"
    problem = failed.value.problems[0]
    assert (problem.file, problem.line) == ("bad.jsonl", 2) and problem.message
    assert "bad.jsonl line 2" in str(failed.value)


def test_an_invalid_request_raises_with_the_api_field_errors(live_server: Any, admin: Client) -> None:
    with pytest.raises(ApiError) as invalid:
        admin.upload([EXAMPLES / "candidates.jsonl"], format="xml")
    assert invalid.value.status == 400 and "format" in invalid.value.fields
    with pytest.raises(NotFound):
        admin.run("ingest", 999_999)
    curator = Client(live_server.url, token=api_key_for(UserFactory(role="curator", username="client-curator")))
    with curator, pytest.raises(PermissionDenied) as refused:
        curator.upload([EXAMPLES / "candidates.jsonl"])
    assert refused.value.status == 403 and refused.value.detail


def test_login_exchanges_a_password_for_a_token_and_a_wrong_one_or_a_bad_token_is_an_authentication_error(
    live_server: Any,
) -> None:
    UserFactory(role="curator", username="client-login")
    with Client.login(live_server.url, "client-login", TEST_PASSWORD, token_name="script") as client:
        assert client.token_info is not None and client.token_info.name == "script"
        assert client.me()["username"] == "client-login"
    with pytest.raises(AuthenticationError) as wrong:
        Client.login(live_server.url, "client-login", "not the password")
    assert "Wrong username or password" in wrong.value.detail
    with Client(live_server.url, token="not-a-token") as stranger, pytest.raises(AuthenticationError) as refused:
        stranger.me()
    assert refused.value.status == 401


def test_an_export_is_started_watched_and_downloaded_with_its_checksum_verified(
    celery_worker_process: Any, admin: Client, tmp_path: Path
) -> None:
    run = admin.start_export("jsonl")
    done = admin.wait(run, timeout=60)
    assert done.kind == "export" and done.succeeded
    download = admin.download_export(done, tmp_path)
    assert download.path.parent == tmp_path and download.path.suffix in (".jsonl", ".gz")
    assert download.sha256 == done["sha256"] == hashlib.sha256(download.path.read_bytes()).hexdigest()
    assert download.size == done["file_size"]
    assert not list(tmp_path.glob("*.part"))
    assert [r.id for r in admin.exports()] == [done.id]
    assert any(r.kind == "export" and r.id == done.id for r in admin.runs())


def test_consolidated_labels_are_listed_with_their_evidence_and_filters(admin: Client) -> None:
    from annotation.services import labels_record
    from tests.factories import CandidateFactory

    first, second = CandidateFactory(), CandidateFactory()
    labels_record(candidate_id=first.pk, values={"plausible": True, "typical": False}, method="audit")
    labels_record(candidate_id=second.pk, values={"plausible": False}, method="audit")

    everything = list(admin.labels())
    assert {(label["candidate"], label["question"], label["value"]) for label in everything} == {
        (first.pk, "plausible", True),
        (first.pk, "typical", False),
        (second.pk, "plausible", False),
    }
    assert all(label["method"] == "audit" and label["updated_at"] for label in everything)
    assert [label["candidate"] for label in admin.labels(question="plausible", value="no")] == [second.pk]
    assert {label["question"] for label in admin.labels(candidate=first.pk)} == {"plausible", "typical"}
    assert list(admin.labels(value="undecided")) == []
    with pytest.raises(ApiError) as refused:
        list(admin.labels(value="maybe"))
    assert refused.value.status == 400 and "value" in (refused.value.fields or {})
