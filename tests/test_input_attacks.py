"""Input that used to slip through (issue 17), each attack replayed over HTTP against a running server.

Spreadsheet formulas after a signed number, bidirectional overrides and control characters in uploads; a Neo4j
export that altered legitimate values; the exports page's unvalidated dates; admin-supplied filter patterns with no
bound; training and generation parameters naming any local folder or unbounded numbers. Runs that a worker would
execute (ingest, export) are executed here by the same service calls the Celery task makes.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from django.urls import reverse

from curation import services as curation_services
from curation.models import ExportRun
from generation.models import GenerationRun
from knowledge.models import Candidate
from knowledge.services import ingest_run_claim, ingest_run_execute
from tests.factories import TEST_PASSWORD, SearchBuyPairFactory, UserFactory
from tests.knowledge.bad_files import BAD_FILES, CAP, GOOD, assert_nothing_imported, jsonl

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class Api(requests.Session):
    """A session that knows the live server's address."""

    base_url = ""


@pytest.fixture
def api(live_server: Any, settings: Any, tmp_path: Path, monkeypatch: Any) -> Api:
    """An admin's token session against the live server. The tests run the runs they start themselves (with this
    process's settings): their messages stay in the outbox, so that a worker left running by an earlier test
    module cannot take them."""
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.INGEST_MAX_DECOMPRESSED_BYTES = CAP
    UserFactory(username="attack-admin", role="admin")
    session = Api()
    token = session.post(
        live_server.url + reverse("api-token"), json={"username": "attack-admin", "password": TEST_PASSWORD}
    )
    assert token.status_code == 200, token.text
    session.headers["Authorization"] = f"Token {token.json()['token']}"
    session.base_url = live_server.url
    return session


def url(session: Api, name: str, *args: Any) -> str:
    return session.base_url + reverse(name, args=args)


# -- ingest ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    [
        "formula-csv-signed-number-dde",
        "formula-csv-signed-number-hyperlink",
        "bidi-override-jsonl-tail",
        "bidi-isolate-jsonl-query",
        "escape-jsonl-title",
        "newline-csv-query",
        "newline-jsonl-tail",
    ],
)
def test_an_upload_with_a_formula_after_a_signed_number_a_bidi_override_or_a_control_character_is_refused_whole(
    case: str, api: Api
) -> None:
    bad = BAD_FILES[case]
    response = api.post(url(api, "api-ingest"), files={"files": (bad.name, bad.content)})
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert ingest_run_claim(run_id=run_id, claimer="test-task")
    ingest_run_execute(run_id=run_id)
    body = api.get(url(api, "api-ingest-run", run_id)).json()
    assert body["status"] == "failed" and "nothing was imported" in body["message"]
    named = [(error["file"], error["line"], error["field"]) for error in body["errors"]]
    assert (bad.name, bad.line, bad.field) in named, body["errors"]
    assert any(bad.message in error["message"] for error in body["errors"]), body["errors"]
    assert_nothing_imported()


def test_legitimate_signs_ranges_and_right_to_left_text_are_ingested(api: Api) -> None:
    tails = ["-20°C rated boots", "+2 year warranty", "5-10 days", "-20% off in winter", "كلمة \u200fعربية"]
    content = jsonl(GOOD, *(GOOD.replace(b"grip icy sidewalks", tail.encode()) for tail in tails))
    response = api.post(url(api, "api-ingest"), files={"files": ("ok.jsonl", content)})
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert ingest_run_claim(run_id=run_id, claimer="test-task")
    ingest_run_execute(run_id=run_id)
    body = api.get(url(api, "api-ingest-run", run_id)).json()
    assert body["status"] == "succeeded", body
    assert set(tails) <= set(Candidate.objects.values_list("tail", flat=True))


# -- exports ---------------------------------------------------------------------------------------------------
def test_the_neo4j_export_keeps_values_that_start_with_a_sign_as_they_are(api: Api, scored_pool: Any) -> None:
    candidates = scored_pool(2, tails=["-20°C rated boots", "+2 year warranty"])
    curator = UserFactory(role="curator")
    for candidate in candidates:
        curation_services.candidate_decide(candidate_id=candidate.pk, accept=True, curator=curator)
    queued = api.post(url(api, "api-exports"), json={"format": "neo4j"})
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["id"]
    assert curation_services.export_run_claim(run_id=run_id)
    assert curation_services.export_run_execute(run_id=run_id).status == "succeeded"
    download = api.get(url(api, "api-export-download", run_id))
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        nodes = archive.read("nodes.csv").decode()
    assert "-20°C rated boots 0" in nodes and "+2 year warranty 1" in nodes
    assert "'-20°C" not in nodes and "'+2" not in nodes


def test_only_the_spreadsheet_export_neutralises_what_a_spreadsheet_would_run(api: Api, scored_pool: Any) -> None:
    """The CSV meant for spreadsheets shows a value that starts like a formula as text (a leading apostrophe);
    the same values stay as they are in the Neo4j files (test above) and in JSON Lines."""
    tails = ["-20°C rated boots", "=HYPERLINK(1)", "@SUM(1)", "plain tail"]
    candidates = scored_pool(4, tails=tails)
    curator = UserFactory(role="curator")
    for candidate in candidates:
        curation_services.candidate_decide(candidate_id=candidate.pk, accept=True, curator=curator)
    files = {}
    for export_format in ("csv", "jsonl"):
        queued = api.post(url(api, "api-exports"), json={"format": export_format})
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["id"]
        assert curation_services.export_run_claim(run_id=run_id)
        assert curation_services.export_run_execute(run_id=run_id).status == "succeeded"
        download = api.get(url(api, "api-export-download", run_id))
        assert download.status_code == 200
        files[export_format] = download
    assert files["csv"].headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(files["csv"].content.decode("utf-8-sig"))))
    shown = sorted(row["tail"] for row in rows)  # the pool's tails carry a number: "<tail> <n>"
    assert shown == ["'-20°C rated boots 0", "'=HYPERLINK(1) 1", "'@SUM(1) 2", "plain tail 3"]
    as_data = sorted(orjson.loads(line)["tail"]["label"] for line in files["jsonl"].content.splitlines())
    assert as_data == [f"{tail} {number}" for number, tail in enumerate(tails)]


def page_session(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> requests.Session:
    """An admin logged in through the login form (session cookie and CSRF token), like a browser. As with ``api``,
    the runs a page queues keep their messages in the outbox: a worker left running by an earlier test module
    would otherwise run them while this test's teardown empties the tables (a deadlock seen in CI)."""
    monkeypatch.setattr("core.outbox.outbox_send", lambda **kwargs: 0)
    UserFactory(username="page-admin", role="admin")
    session = requests.Session()
    session.get(live_server.url + "/login/")
    response = session.post(
        live_server.url + "/login/",
        data={"username": "page-admin", "password": TEST_PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


@pytest.mark.parametrize(
    ("field", "value"),
    [("approved_from", "2024-13-45"), ("approved_to", "yesterday'; DROP TABLE x; --"), ("min_score", "7")],
)
def test_the_exports_page_refuses_a_bad_filter_with_a_400_naming_the_field_and_queues_nothing(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    session = page_session(live_server, monkeypatch)
    session.get(live_server.url + "/exports/")
    response = session.post(
        live_server.url + "/exports/",
        data={"format": "jsonl", field: value, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert f"filters.{field}:" in response.text
    assert not ExportRun.objects.exists()


def test_the_exports_page_queues_an_export_with_good_dates(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    session = page_session(live_server, monkeypatch)
    session.get(live_server.url + "/exports/")
    response = session.post(
        live_server.url + "/exports/",
        data={"format": "jsonl", "approved_from": "2024-01-01", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert ExportRun.objects.get().filters["approved_from"].startswith("2024-01-01T00:00:00")


# -- admin-supplied filter patterns ----------------------------------------------------------------------------
def test_a_filter_configuration_with_an_overlong_or_too_many_blocked_patterns_is_refused(
    api: Api,
) -> None:
    for patterns, words in [(["(a|aa)+" * 50], "the maximum is 300"), ([f"w{i}" for i in range(101)], "maximum")]:
        config = {"rules": {"blocked": {"patterns": patterns}}}
        response = api.post(url(api, "api-filter-configurations"), json={"config": config})
        assert response.status_code == 400, response.text
        assert "rules.blocked.patterns" in response.text and words in response.text


# -- training and generation parameters ------------------------------------------------------------------------
@pytest.fixture
def model_root(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "models"
    (root / "good").mkdir(parents=True)
    (root / "good" / "config.json").write_text("{}")
    (root / "good" / "model.safetensors").write_bytes(b"")
    (root / "pickled").mkdir()
    (root / "pickled" / "config.json").write_text("{}")
    (root / "pickled" / "pytorch_model.bin").write_bytes(b"")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.safetensors").write_bytes(b"")
    (root / "link-out").symlink_to(outside)
    monkeypatch.setitem(settings.PLAUSI_CLASSIFIERS, "MODEL_ROOT", root)
    return root


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"model_path": "/etc"}, "model_path", "under the model root"),
        ({"model_path": "../outside"}, "model_path", "under the model root"),
        ({"model_path": "link-out"}, "model_path", "under the model root"),
        ({"model_path": "pickled"}, "model_path", "no safetensors weights (it holds pytorch_model.bin"),
        ({"model_path": "0" * 300}, "model_path", "cannot be read as a folder"),
        ({"epochs": 10**9}, "epochs", "less than or equal to 20"),
        ({"batch_size": "lots"}, "batch_size", "valid integer"),
        ({"learning_rate": 5.0}, "learning_rate", "less than or equal to"),
        ({"device": "cuda; rm -rf /"}, "device", "does not match"),
    ],
)
def test_a_training_request_with_an_unsafe_model_path_or_an_unbounded_parameter_is_a_400_naming_it(
    api: Api, model_root: Path, params: dict[str, Any], field: str, words: str
) -> None:
    response = api.post(
        url(api, "api-training-runs"), json={"target": "plausible", "kind": "cross_encoder", "params": params}
    )
    assert response.status_code == 400, response.text
    errors = response.json()["params"]
    assert field in errors and words in " ".join(errors[field]), errors


def test_a_training_parameter_the_kind_does_not_take_is_still_refused_by_name(api: Api) -> None:
    response = api.post(
        url(api, "api-training-runs"), json={"target": "plausible", "kind": "cross_encoder", "params": {"shell": 1}}
    )
    assert response.status_code == 400 and "'shell'" in response.json()["detail"]


def test_a_training_request_naming_a_safetensors_folder_under_the_model_root_is_queued(
    api: Api, model_root: Path
) -> None:
    params: dict[str, Any] = {"model_path": "good", "epochs": 3, "batch_size": 16, "learning_rate": 2e-5}
    response = api.post(
        url(api, "api-training-runs"), json={"target": "plausible", "kind": "cross_encoder", "params": params}
    )
    assert response.status_code == 202, response.text
    assert response.json()["params"]["model_path"] == str((model_root / "good").resolve())


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("/etc", "under the model root"),
        ("../outside", "under the model root"),
        ("link-out", "under the model root"),
        ("pickled", "no safetensors weights"),
    ],
)
def test_a_local_generation_run_naming_an_unsafe_model_folder_is_a_400_naming_the_model(
    api: Api, model_root: Path, model: str, words: str
) -> None:
    SearchBuyPairFactory()  # a pair to prompt about, so that only the model can make the request fail
    body = {"backend": "local", "relations": ["capable_of"], "pairs": 1, "model": model, "max_tokens": 64}
    response = api.post(url(api, "api-generation-runs"), json=body)
    assert response.status_code == 400, response.text
    assert words in " ".join(response.json()["model"])
    assert not GenerationRun.objects.exists()
