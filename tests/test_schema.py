"""The OpenAPI schema generates without warnings or errors and documents every endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_the_openapi_schema_generates_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths = set(schema["paths"])
    assert {
        "/api/ingest/",
        "/api/ingest-runs/",
        "/api/ingest-runs/{run_id}/",
        "/api/candidates/",
        "/api/candidates/{candidate_id}/",
        "/api/relations/",
        "/api/me/",
        "/api/auth/token/",
    } <= paths
    assert "multipart/form-data" in schema["paths"]["/api/ingest/"]["post"]["requestBody"]["content"]


@pytest.mark.django_db
def test_the_interactive_docs_page_is_served_offline_to_signed_in_users(admin_client: Any) -> None:
    page = admin_client.get("/api/docs/")
    assert page.status_code == 200
    assert "swagger-ui" in page.content.decode()
    assert "cdn" not in page.content.decode().lower()


@pytest.mark.django_db
def test_lists_and_error_responses_are_documented_as_the_api_gives_them(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]

    def body(path: str, method: str, code: str) -> Any:
        return paths[path][method]["responses"][code]["content"]["application/json"]["schema"]

    assert body("/api/candidates/", "get", "200") == {"$ref": "#/components/schemas/PaginatedCandidateOutputList"}
    assert {"limit", "offset"} <= {p["name"] for p in paths["/api/ingest-runs/"]["get"]["parameters"]}
    assert body("/api/relations/", "get", "200")["type"] == "array"  # not paginated
    assert body("/api/curation/batches/", "post", "201")["type"] == "array"  # new batches, whole
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (method, path)
            assert "{" not in path or "404" in codes, (method, path)
            assert "requestBody" not in operation or "400" in codes, (method, path)
