"""The Django admin: every model is registered and its list, search and detail pages load for an admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
KNOWLEDGE_MODELS = list(apps.get_app_config("knowledge").get_models())
PROJECT_MODELS = [
    model
    for label in (
        "core",
        "knowledge",
        "filtering",
        "annotation",
        "classifiers",
        "curation",
        "generation",
        "lm",
        "serving",
    )
    for model in apps.get_app_config(label).get_models()
]


@pytest.fixture
def admin_client_with_data(ingest: Any) -> Client:
    ingest(EXAMPLES / "candidates.jsonl")
    from core.models import OutboxMessage

    OutboxMessage.objects.create(task="knowledge.ingest_run_execute", args=[1])  # a message sent while Redis was down
    client = Client()
    client.force_login(UserFactory(role="admin"))
    return client


def test_every_project_model_is_registered() -> None:
    assert [model for model in PROJECT_MODELS if not admin.site.is_registered(model)] == []


@pytest.mark.parametrize("model", PROJECT_MODELS, ids=lambda model: model.__name__)
def test_every_changelist_loads_even_when_empty(model: Any) -> None:
    client = Client()
    client.force_login(UserFactory(role="admin"))
    meta = model._meta
    assert client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")).status_code == 200


@pytest.mark.parametrize("model", KNOWLEDGE_MODELS, ids=lambda model: model.__name__)
def test_the_list_search_and_detail_pages_load(admin_client_with_data: Client, model: Any) -> None:
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    assert admin_client_with_data.get(changelist).status_code == 200
    assert admin_client_with_data.get(changelist, {"q": "boot"}).status_code == 200
    instance = model.objects.first()
    assert instance is not None
    detail = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[instance.pk])
    assert admin_client_with_data.get(detail).status_code == 200


def test_candidates_show_their_head_and_cannot_be_edited_in_the_admin(admin_client_with_data: Client) -> None:
    page = admin_client_with_data.get(reverse("admin:knowledge_candidate_changelist")).content.decode()
    assert "“winter boots for pregnant women” → Slip-resistant ankle boot" in page
    assert admin_client_with_data.get(reverse("admin:knowledge_candidate_add")).status_code == 403


@pytest.mark.parametrize("role", ["annotator", "curator"])
def test_non_admin_roles_cannot_open_the_admin(role: str) -> None:
    client = Client()
    client.force_login(UserFactory(role=role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
