"""Export downloads sent by the reverse proxy (``EXPORT_DOWNLOAD_ACCEL_REDIRECT``): the web process checks the
request (an admin, a finished run, its file still there) and answers with ``X-Accel-Redirect`` and no body; nginx
then sends the file from its ``internal`` location, so no web thread streams it to a slow client. Checked in
process, and end to end with a real nginx in front of the real web process (granian)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone

from core.runs import RunStatus
from curation.models import ExportRun
from curation.services.exports import export_folder
from tests.conftest import ROOT, child_database_url, free_port, process_stop, web_live, web_spawn
from tests.factories import UserFactory, api_key_for, export_run_with_file

PREFIX = "/_plausi_exports/"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # not on a user's PATH


def _export(content: bytes) -> ExportRun:
    return export_run_with_file(content, status=RunStatus.SUCCEEDED, finished_at=timezone.now())


@pytest.mark.django_db
def test_with_the_setting_a_download_is_checked_here_and_answered_with_x_accel_redirect(
    api_client_for: Any, settings: Any, tmp_path: Path
) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.EXPORT_DOWNLOAD_ACCEL_REDIRECT = PREFIX
    run = _export(b'{"edge": 1}\n')
    admin = api_client_for("admin")
    admin.credentials(HTTP_X_SENDFILE_TYPE="X-Accel-Redirect")  # what the proxy adds to every request it forwards
    response = admin.get(f"/api/exports/{run.pk}/download")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"{PREFIX}{run.file_name}"
    assert response["Content-Disposition"] == f'attachment; filename="{run.file_name}"'
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["X-Checksum-SHA256"] == run.sha256
    assert response.content == b""  # the proxy sends the file
    refused = api_client_for("curator").get(f"/api/exports/{run.pk}/download", HTTP_X_SENDFILE_TYPE="X-Accel-Redirect")
    assert refused.status_code == 403 and "X-Accel-Redirect" not in refused
    # not through a proxy that sends files (a direct request): the web process streams the file, never an empty body
    direct = api_client_for("admin").get(f"/api/exports/{run.pk}/download")
    assert b"".join(direct.streaming_content) == b'{"edge": 1}\n' and "X-Accel-Redirect" not in direct
    (export_folder() / run.file_name).unlink()
    gone = admin.get(f"/api/exports/{run.pk}/download")
    assert gone.status_code == 404 and "X-Accel-Redirect" not in gone
    settings.EXPORT_DOWNLOAD_ACCEL_REDIRECT = ""
    streamed = _export(b'{"edge": 2}\n')
    plain = admin.get(f"/api/exports/{streamed.pk}/download")
    assert b"".join(plain.streaming_content) == b'{"edge": 2}\n' and "X-Accel-Redirect" not in plain


def test_a_prefix_that_is_not_a_url_path_is_refused_at_start() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "EXPORT_DOWNLOAD_ACCEL_REDIRECT": "exports"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "EXPORT_DOWNLOAD_ACCEL_REDIRECT='exports'" in result.stderr and "starts and ends with /" in result.stderr


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """The web process (granian) with the setting, and nginx in front of it with the export folder as an internal
    location; yields (nginx's URL, the web process's URL, PRIVATE_MEDIA_ROOT)."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    private = tmp_path / "private"
    (private / "exports").mkdir(parents=True)
    web_port, proxy_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": child_database_url(),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "PRIVATE_MEDIA_ROOT": str(private),
        "EXPORT_DOWNLOAD_ACCEL_REDIRECT": PREFIX,
    }
    web = web_spawn(env, web_port, "test-web-export-accel.log")
    conf = tmp_path / "nginx"
    (conf / "tmp").mkdir(parents=True)
    # run as root (CI), nginx's workers would switch to "nobody", who cannot read pytest's temporary folders
    user = "user root;\n" if os.geteuid() == 0 else ""
    (conf / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {conf}/nginx.pid;\nerror_log {conf}/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {conf}/tmp/body;\n  proxy_temp_path {conf}/tmp/proxy;\n"
        f"  fastcgi_temp_path {conf}/tmp/f;\n  uwsgi_temp_path {conf}/tmp/u;\n  scgi_temp_path {conf}/tmp/s;\n"
        f"  server {{\n    listen 127.0.0.1:{proxy_port};\n"
        f"    location {PREFIX} {{\n      internal;\n      alias {private}/exports/;\n"
        "      add_header X-Checksum-SHA256 $upstream_http_x_checksum_sha256;\n    }\n"
        f"    location / {{\n      proxy_pass http://127.0.0.1:{web_port};\n      proxy_set_header Host $host;\n"
        "      proxy_set_header X-Sendfile-Type X-Accel-Redirect;\n    }\n"
        "  }\n}\n"
    )
    nginx = subprocess.Popen(
        [NGINX, "-c", str(conf / "nginx.conf"), "-e", str(conf / "error.log")], start_new_session=True
    )
    url = f"http://127.0.0.1:{proxy_port}"

    try:
        assert web_live(url), (ROOT / "var" / "test-web-export-accel.log").read_text()
        yield url, f"http://127.0.0.1:{web_port}", private
    finally:
        process_stop(nginx)
        process_stop(web)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_nginx_sends_the_file_after_the_web_process_checked_the_request(
    behind_nginx: tuple[str, str, Path], settings: Any
) -> None:
    url, web_url, private = behind_nginx
    settings.PRIVATE_MEDIA_ROOT = private
    content = b"".join(b'{"edge": %d, "tail": "grip icy sidewalks"}\n' % i for i in range(60_000))  # ~2.5 MB
    run = _export(content)
    admin = {"Authorization": f"Token {api_key_for(UserFactory(role='admin'))}"}
    curator = {"Authorization": f"Token {api_key_for(UserFactory(role='curator'))}"}
    with httpx.Client(base_url=url, timeout=30) as http:
        download = http.get(f"/api/exports/{run.pk}/download", headers=admin)
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["Content-Disposition"] == f'attachment; filename="{run.file_name}"'
        assert download.headers["Content-Type"] == "application/x-ndjson"
        assert download.headers["X-Checksum-SHA256"] == hashlib.sha256(content).hexdigest()
        assert "X-Accel-Redirect" not in download.headers  # nginx consumed it
        # nginx, not the web process, sent it: a broken download resumes with a range (the web answers 200, whole)
        resumed = http.get(f"/api/exports/{run.pk}/download", headers={**admin, "Range": "bytes=1000-"})
        assert resumed.status_code == 206 and resumed.content == content[1000:]
        refused = http.get(f"/api/exports/{run.pk}/download", headers=curator)
        assert refused.status_code == 403 and refused.content != content
        # the internal location cannot be asked for from outside
        assert http.get(f"{PREFIX}{run.file_name}", headers=admin).status_code == 404
    # straight to the web process, past the proxy: the file itself, not the proxy's header
    direct = httpx.get(f"{web_url}/api/exports/{run.pk}/download", headers=admin, timeout=30)
    assert direct.status_code == 200 and direct.content == content and "X-Accel-Redirect" not in direct.headers
