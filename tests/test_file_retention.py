"""Uploaded ingest files and export files are not kept for ever: the hourly clean-up (Celery beat, or
``manage.py expire_files``) deletes the files of finished runs older than ``INGEST_FILE_RETENTION_DAYS`` /
``EXPORT_FILE_RETENTION_DAYS``, keeps recent ones and never touches a run still queued or running; the runs say
"expired" on their pages and in the API, and an expired export's download answers 410 over HTTP."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core.runs import RunStatus
from curation.models import ExportRun
from curation.services import export_folder
from curation.tasks import export_files_expire_task
from knowledge.models import IngestRun
from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute
from knowledge.tasks import ingest_files_expire_task
from tests.factories import UserFactory, export_run_with_file

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LINE = (
    b'{"kind": "plain", "head": "winter boots %s", "relation": "capable_of", "tail": "grip icy sidewalks %s",'
    b' "generator": "test"}\n'
)


@pytest.fixture(autouse=True)
def private_root(tmp_path: Path, settings: Any) -> Path:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.INGEST_FILE_RETENTION_DAYS = 30
    settings.EXPORT_FILE_RETENTION_DAYS = 30
    return Path(settings.PRIVATE_MEDIA_ROOT)


def _upload(tag: str, *, bad: bool = False) -> Path:
    """A file where the upload API stores one: its own folder under PRIVATE_MEDIA_ROOT/ingest/."""
    folder = Path(settings.PRIVATE_MEDIA_ROOT) / "ingest" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / f"000-{tag}.jsonl"
    path.write_bytes(LINE % (tag.encode(), tag.encode()) + (b"{not json}\n" if bad else b""))
    return path


def _ingested(path: Path, *, days_ago: float, skip_invalid: bool = False, source: str = "api") -> IngestRun:
    run = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source=source, skip_invalid=skip_invalid)
    assert ingest_run_claim(run_id=run.pk)
    run = ingest_run_execute(run_id=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.message
    IngestRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    return run


def _export(status: str, *, days_ago: float | None) -> tuple[ExportRun, Path]:
    finished = None if days_ago is None else timezone.now() - timedelta(days=days_ago)
    run = export_run_with_file(b'{"edge": 1}\n', status=status, finished_at=finished)
    return run, export_folder() / run.file_name


def test_old_finished_files_are_deleted_and_recent_and_unfinished_ones_kept(tmp_path: Path) -> None:
    old_upload = _upload("old")
    old = _ingested(old_upload, days_ago=31)
    recent_upload = _upload("recent")
    recent = _ingested(recent_upload, days_ago=29)
    rejects = _ingested(_upload("rejects", bad=True), days_ago=40, skip_invalid=True)
    assert Path(rejects.rejects_path).is_file()
    server_file = tmp_path / "on-the-server.jsonl"  # given to `manage.py ingest`: its owner's, never deleted
    server_file.write_bytes(LINE % (b"cli", b"cli"))
    cli = _ingested(server_file, days_ago=90, source="cli")
    queued_upload = _upload("queued")
    queued = ingest_run_create(files=[IngestFileSpec(path=queued_upload, name=queued_upload.name)], source="api")
    running_upload = _upload("running")
    running = ingest_run_create(files=[IngestFileSpec(path=running_upload, name=running_upload.name)], source="api")
    # a run in flight whose timestamps look old (a takeover of a run that once ended) keeps its files
    IngestRun.objects.filter(pk=running.pk).update(
        status=RunStatus.RUNNING, finished_at=timezone.now() - timedelta(days=90)
    )

    old_export, old_export_file = _export(RunStatus.SUCCEEDED, days_ago=31)
    failed_export, _ = _export(RunStatus.FAILED, days_ago=45)
    recent_export, recent_export_file = _export(RunStatus.SUCCEEDED, days_ago=1)
    running_export, running_export_file = _export(RunStatus.RUNNING, days_ago=None)

    ingest_files_expire_task()
    export_files_expire_task()

    assert not old_upload.exists() and not old_upload.parent.exists()
    assert not Path(rejects.rejects_path).exists()
    assert recent_upload.is_file() and queued_upload.is_file() and running_upload.is_file()
    assert server_file.is_file()
    removed = dict(IngestRun.objects.values_list("pk", "files_removed_at"))
    assert removed[old.pk] is not None and removed[rejects.pk] is not None
    assert removed[recent.pk] is None and removed[queued.pk] is None and removed[running.pk] is None
    assert removed[cli.pk] is None  # nothing of ours to delete

    assert not old_export_file.exists()
    assert recent_export_file.is_file() and running_export_file.is_file()
    stamped = dict(ExportRun.objects.values_list("pk", "file_removed_at"))
    assert stamped[old_export.pk] is not None and stamped[failed_export.pk] is not None
    assert stamped[recent_export.pk] is None and stamped[running_export.pk] is None

    first = stamped[old_export.pk]
    ingest_files_expire_task()  # again: nothing more to do, the stamps stay
    export_files_expire_task()
    assert ExportRun.objects.get(pk=old_export.pk).file_removed_at == first


def test_a_retention_of_zero_days_keeps_every_file(settings: Any) -> None:
    settings.INGEST_FILE_RETENTION_DAYS = 0
    settings.EXPORT_FILE_RETENTION_DAYS = 0
    upload = _upload("kept")
    _ingested(upload, days_ago=3650)
    _run, export_file = _export(RunStatus.SUCCEEDED, days_ago=3650)
    call_command("expire_files")
    assert upload.is_file() and export_file.is_file()


def test_an_expired_export_answers_410_and_its_pages_say_expired_over_http(live_server: Any) -> None:
    admin = UserFactory(role="admin")
    client = Client()
    client.force_login(admin)
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    export, export_file = _export(RunStatus.SUCCEEDED, days_ago=31)
    upload = _upload("expiring")
    ingest = _ingested(upload, days_ago=31)
    with httpx.Client(base_url=live_server.url, cookies=cookies, timeout=30) as http:
        before = http.get(f"/api/exports/{export.pk}/download")
        assert before.status_code == 200 and before.content == b'{"edge": 1}\n'
        assert http.get(f"/api/exports/{export.pk}").json()["file_expired"] is False
        assert http.get(f"/api/ingest-runs/{ingest.pk}/").json()["files_expired"] is False

        call_command("expire_files")

        after = http.get(f"/api/exports/{export.pk}/download")
        assert after.status_code == 410, after.text
        assert "expired" in after.json()["detail"]
        body = http.get(f"/api/exports/{export.pk}").json()
        assert body["file_expired"] is True and body["file_removed_at"]
        page = http.get("/exports/").text
        assert "file expired" in page and f"/api/exports/{export.pk}/download" not in page
        run = http.get(f"/api/ingest-runs/{ingest.pk}/").json()
        assert run["files_expired"] is True and run["files_removed_at"]
        assert "(files expired)" in http.get("/runs/ingest/").text
    assert not export_file.exists() and not upload.exists()
    shutil.rmtree(Path(settings.PRIVATE_MEDIA_ROOT), ignore_errors=True)


def test_celery_beat_runs_both_clean_ups() -> None:
    from config.celery import app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"knowledge.ingest_files_expire", "curation.export_files_expire"} <= scheduled
    assert {"knowledge.ingest_files_expire", "curation.export_files_expire"} <= set(app.tasks)
