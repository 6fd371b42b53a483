"""The hot path's renderer writes the bytes DRF's JSONRenderer writes; its negotiation ignores Accept only."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from typing import Any

import pytest
from django.urls import reverse
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from knowledge.api_fast import FastJSONRenderer

SAMPLES: list[Any] = [
    {
        "when": dt.datetime(2026, 11, 29, 9, 30, 1, 123456, tzinfo=dt.UTC),
        "elsewhere": dt.datetime(2026, 11, 29, 9, 30, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "naive": dt.datetime(2026, 1, 2, 3, 4, 5, 600),
        "day": dt.date(2026, 2, 28),
        "time": dt.time(23, 59, 58, 1000),
        "money": decimal.Decimal("12.50"),
        "id": uuid.UUID(int=7),
        "lazy": gettext_lazy("Invalid token."),
    },
    {"text": 'boots that "grip" icy sidewalks </script> <b>', "unicode": "café ☃ 🥾", "separators": "a\u2028b\u2029c"},
    {"nested": [1, 2.5, -0.0, 1e21, None, True, False, [], {}], "big": 2**60, "control": "tab\tnewline\n\x00"},
    [],
    "plain",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_bytes_are_drfs_own(data: Any) -> None:
    drf = JSONRenderer().render(data)
    fast = FastJSONRenderer().render(data)
    assert fast == drf
    assert json.loads(fast) == json.loads(drf)


def test_an_indented_rendering_is_drfs_and_none_is_an_empty_body() -> None:
    data = {"a": [1, {"b": "c"}]}
    indented = FastJSONRenderer().render(data, "application/json; indent=4")
    assert indented == JSONRenderer().render(data, "application/json; indent=4") and b"\n    " in indented
    assert FastJSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_the_answer_endpoint_speaks_json_whatever_accept_says_and_refuses_other_bodies(api_client_for: Any) -> None:
    api = api_client_for("annotator")
    response = api.get(reverse("api-annotation-next"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["step"] is None  # an empty queue, said in JSON
    refused = api.post(reverse("api-annotation-answers"), "value=yes", content_type="text/plain")
    assert refused.status_code == 415
