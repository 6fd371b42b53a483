"""The REST API: permissions per role on every endpoint, shapes, filters and bad input without 500s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from knowledge.models import IngestRun
from tests.conftest import search_buy
from tests.factories import TEST_PASSWORD, CandidateFactory, UserFactory, api_key_for

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"

# endpoint -> the roles that may read it ("norole" is a signed-in user without a role)
READ_ACCESS = {
    "api-me": {"annotator", "curator", "admin"},
    "api-relations": {"annotator", "curator", "admin"},
    "api-candidates": {"curator", "admin"},
    "api-ingest-runs": {"admin"},
    "api-schema": {"annotator", "curator", "admin", "norole"},
}


@pytest.mark.parametrize("role", [None, "norole", "annotator", "curator", "admin"])
@pytest.mark.parametrize("url_name", sorted(READ_ACCESS))
def test_each_role_reads_exactly_the_endpoints_it_should(api_client_for: Any, role: str | None, url_name: str) -> None:
    response = api_client_for(role).get(reverse(url_name))
    if role in READ_ACCESS[url_name]:
        assert response.status_code == 200
    else:
        assert response.status_code in (401, 403)


def test_detail_endpoints_follow_the_same_roles(api_client_for: Any, ingest: Any) -> None:
    run = ingest(EXAMPLES / "candidates.jsonl")
    candidate_id = run.candidates.first().pk
    candidate_url = reverse("api-candidate", args=[candidate_id])
    run_url = reverse("api-ingest-run", args=[run.pk])
    assert api_client_for("annotator").get(candidate_url).status_code == 403
    assert api_client_for("curator").get(candidate_url).status_code == 200
    assert api_client_for("curator").get(run_url).status_code == 403
    assert api_client_for("admin").get(run_url).status_code == 200
    assert api_client_for(None).get(run_url).status_code in (401, 403)


@pytest.mark.parametrize("role", [None, "norole", "annotator", "curator"])
def test_only_admins_may_ingest(api_client_for: Any, role: str | None) -> None:
    upload = SimpleUploadedFile("c.jsonl", (EXAMPLES / "candidates.jsonl").read_bytes())
    response = api_client_for(role).post(reverse("api-ingest"), {"files": [upload]}, format="multipart")
    assert response.status_code in (401, 403)
    assert IngestRun.objects.count() == 0


def test_candidates_are_listed_with_their_head_and_filtered(api_client_for: Any, ingest: Any) -> None:
    ingest(EXAMPLES / "candidates.jsonl")
    client = api_client_for("curator")
    body = client.get(reverse("api-candidates")).json()
    assert body["count"] == 3
    by_kind = {item["head_kind"]: item for item in body["results"]}
    search = by_kind["search_buy"]
    assert search["relation"] == "capable_of"
    assert search["pair"]["query"]["text"] == "winter boots for pregnant women"
    assert search["pair"]["product"]["category"] == "Shoes"
    assert by_kind["plain"]["known_labels"] == {"plausible": True, "typical": True}
    filtered = client.get(reverse("api-candidates"), {"relation": "used_for_event"}).json()
    assert [item["tail"] for item in filtered["results"]] == ["a family camping trip"]
    assert client.get(reverse("api-candidates"), {"category": "Outdoors"}).json()["count"] == 1
    assert client.get(reverse("api-candidates"), {"search": "ICY"}).json()["count"] == 1


def test_bad_filters_and_missing_objects_are_4xx_not_500(api_client_for: Any) -> None:
    client = api_client_for("admin")
    response = client.get(reverse("api-candidates"), {"status": "bogus"})
    assert response.status_code == 400 and "status" in response.json()
    assert client.get(reverse("api-candidate", args=[999999])).status_code == 404
    assert client.get(reverse("api-ingest-run", args=[999999])).status_code == 404


def test_an_api_url_that_matches_no_route_is_a_json_404_and_a_page_url_an_html_one(api_client_for: Any) -> None:
    client = api_client_for("admin")
    for url in ("/api/candidates/abc/", "/api/candidates/-1/", "/api/no-such-endpoint/"):
        response = client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
        assert response.json() == {"detail": "Not found."}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_admin_upload_without_files_is_a_clear_400(api_client_for: Any) -> None:
    response = api_client_for("admin").post(reverse("api-ingest"), {}, format="multipart")
    assert response.status_code == 400 and "files" in response.json()


def test_an_upload_whose_format_cannot_be_told_is_refused_before_queueing(api_client_for: Any) -> None:
    upload = SimpleUploadedFile("data.txt", b"{}")
    response = api_client_for("admin").post(reverse("api-ingest"), {"files": [upload]}, format="multipart")
    assert response.status_code == 400 and "cannot tell the format" in response.json()["detail"]
    assert IngestRun.objects.count() == 0


def test_a_token_is_issued_for_a_role_user_and_can_be_revoked(make_user: Any) -> None:
    user = make_user("curator", username="cora")
    client = APIClient()
    wrong = client.post(reverse("api-token"), {"username": "cora", "password": "nope"}, format="json")
    assert wrong.status_code == 400
    token = client.post(reverse("api-token"), {"username": "cora", "password": TEST_PASSWORD}, format="json")
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get(reverse("api-me")).json() == {"username": "cora", "roles": ["curator"]}
    assert client.delete(reverse("api-token")).status_code == 204
    assert not ApiToken.objects.filter(user=user).exists()
    assert client.get(reverse("api-me")).status_code == 401


def test_a_user_without_a_role_gets_no_token(db: Any) -> None:
    UserFactory(username="nobody", role=None)
    response = APIClient().post(reverse("api-token"), {"username": "nobody", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 400


def test_the_candidate_list_is_paginated(api_client_for: Any) -> None:
    CandidateFactory.create_batch(7)
    body = api_client_for("admin").get(reverse("api-candidates"), {"limit": 5}).json()
    assert body["count"] == 7 and len(body["results"]) == 5 and body["next"]


def test_a_page_is_at_most_a_thousand_rows_and_a_huge_limit_is_not_a_500(api_client_for: Any) -> None:
    CandidateFactory.create_batch(3)
    client = api_client_for("admin")
    for limit in ("99999999999999999999", "100000"):
        response = client.get(reverse("api-candidates"), {"limit": limit})
        assert response.status_code == 200, limit
        assert response.json()["count"] == 3 and len(response.json()["results"]) == 3
    assert client.get(reverse("api-candidates"), {"offset": "99999999999999999999"}).json()["results"] == []


def test_llm_text_comes_back_verbatim_as_json_data(api_client_for: Any, ingest: Any, write_lines: Any) -> None:
    payload = '<script>alert("x")</script> keeps feet warm'
    ingest(write_lines([search_buy(payload)]))
    body = api_client_for("admin").get(reverse("api-candidates")).json()
    assert body["results"][0]["tail"] == payload


def test_a_token_of_an_inactive_user_or_an_unknown_token_is_refused(make_user: Any) -> None:
    user = make_user("annotator", username="ina")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    assert client.get(reverse("api-me")).json()["username"] == "ina"
    user.is_active = False
    user.save()
    assert client.get(reverse("api-me")).status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get(reverse("api-me")).status_code == 401
