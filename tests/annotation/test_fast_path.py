"""The lean WSGI path of GET next and POST answers (annotation/fast.py) answers as the DRF views do: the same bodies
and headers for the plain case, and everything else (refusals, bodies to coerce or word an error about, hosts,
redirects) handed to the general path with the request as it came."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from annotation.fast import annotation_fast_path
from annotation.models import Answer
from annotation.services import queue_fill
from tests.factories import CandidateFactory, UserFactory, api_key_for
from tests.wsgi import CountingHandler, wsgi_environ, wsgi_request

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NEXT, ANSWERS = "/api/annotation/next", "/api/annotation/answers"


@pytest.fixture
def apps() -> tuple[Any, CountingHandler]:
    general = CountingHandler()
    fast = annotation_fast_path(general)
    assert fast is not general  # PostgreSQL, FAST_PATH on
    return fast, general


@pytest.fixture
def pool() -> None:
    CandidateFactory(status="pooled", tail='<img src=x onerror="alert(1)"> grip {ice}')
    for _ in range(3):
        CandidateFactory(status="pooled")
    queue_fill()


def call(
    app: Any,
    method: str,
    path: str,
    *,
    token: str | None,
    body: bytes | None = None,
    content_type: str = "application/json",
    **extra: str,
) -> tuple[int, dict[str, str], Any]:
    environ = wsgi_environ(method, path, token=token, body=body, content_type=content_type, **extra)
    return wsgi_request(app, environ)


def answer_of(step: dict[str, Any], value: bool = True, key: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "assignment": step["assignment"],
            "question": step["question"]["slug"],
            "value": value,
            "idempotency_key": key or uuid.uuid4().hex,
        }
    )


def test_next_and_answers_answer_with_the_views_bodies_and_headers(
    pool: None, apps: tuple[Any, CountingHandler]
) -> None:
    fast, general = apps
    token = api_key_for(UserFactory(role="annotator"))
    status, fast_headers, first = call(fast, "GET", NEXT, token=token)
    assert status == 200 and general.calls == 0 and first["step"] is not None
    status, general_headers, again = call(general, "GET", NEXT, token=token)
    assert status == 200 and again == first  # the lease held: the same step and prefetch
    assert fast_headers.pop("X-Request-ID") and general_headers.pop("X-Request-ID")
    assert fast_headers == general_headers
    # LLM text stays text: the body is JSON, the markup in it escaped by nobody and executed by nobody
    assert fast_headers["Content-Type"] == "application/json" and "Content-Security-Policy" in fast_headers

    # an answer through the lean path, then the same key retried through the general path (a replay: 200, the
    # same answer and the annotator's steps as they are now), and the other way round
    step = first["step"]
    for answering, retrying in ((fast, general), (general, fast)):
        body = answer_of(step)
        before = general.calls
        status, answered_headers, answered = call(answering, "POST", ANSWERS, token=token, body=body)
        assert status == 201, answered
        assert general.calls == before + (answering is general)
        status, replayed_headers, replayed = call(retrying, "POST", ANSWERS, token=token, body=body)
        assert status == 200 and general.calls == before + 1
        assert replayed == answered
        answered_headers.pop("X-Request-ID"), replayed_headers.pop("X-Request-ID")
        assert answered_headers == replayed_headers
        step = answered["step"]
    assert Answer.objects.filter(annotator__username__isnull=False).count() == 2


def test_whatever_is_not_the_plain_case_is_answered_by_the_general_path(
    pool: None, apps: tuple[Any, CountingHandler], settings: Any
) -> None:
    fast, general = apps
    token = api_key_for(UserFactory(role="annotator"))
    step = call(fast, "GET", NEXT, token=token)[2]["step"]
    calls = general.calls

    def general_answered(status: int, response: tuple[int, dict[str, str], Any]) -> Any:
        nonlocal calls
        assert response[0] == status, response
        assert general.calls == calls + 1
        calls = general.calls
        return response[2]

    # no token, a bad token, a user without a role: the API's 401 and 403
    general_answered(401, call(fast, "GET", NEXT, token=None))
    refused = call(fast, "GET", NEXT, token="0" * 40)
    assert general_answered(401, refused) == {"detail": "Invalid token."}
    assert refused[1]["WWW-Authenticate"] == "Token"
    general_answered(403, call(fast, "GET", NEXT, token=api_key_for(UserFactory())))
    inactive = UserFactory(role="annotator")
    inactive_token = api_key_for(inactive)
    inactive.is_active = False
    inactive.save()
    general_answered(401, call(fast, "GET", NEXT, token=inactive_token))
    # bodies: malformed JSON, a field to refuse, a value to coerce (the general path reads the same bytes and
    # accepts it), another content type
    assert "detail" in general_answered(400, call(fast, "POST", ANSWERS, token=token, body=b'{"assignment": '))
    refused_body = orjson.loads(answer_of(step)) | {"question": "not a slug!"}
    assert "question" in general_answered(
        400, call(fast, "POST", ANSWERS, token=token, body=orjson.dumps(refused_body))
    )
    coerced = orjson.loads(answer_of(step)) | {"value": "true", "assignment": str(step["assignment"])}
    answered = general_answered(201, call(fast, "POST", ANSWERS, token=token, body=orjson.dumps(coerced)))
    assert Answer.objects.get(pk=answered["answer"]).value is True
    general_answered(415, call(fast, "POST", ANSWERS, token=token, body=answer_of(step), content_type="text/plain"))
    # a host that is not allowed, and an HTTPS redirect that is due
    general_answered(400, call(fast, "GET", NEXT, token=token, HTTP_HOST="evil.example"))
    settings.SECURE_SSL_REDIRECT = True  # (the middleware reads it when the handler is built)
    redirecting = CountingHandler()
    assert call(annotation_fast_path(redirecting), "GET", NEXT, token=token)[0] == 301 and redirecting.calls == 1
    settings.SECURE_SSL_REDIRECT = False
    # other methods and paths
    general_answered(405, call(fast, "POST", NEXT, token=token, body=b"{}"))
    general_answered(404, call(fast, "GET", "/api/annotation/nextx", token=token))


def test_a_domain_refusal_and_an_unexpected_error_are_answered_as_the_views_answer_them(
    pool: None, apps: tuple[Any, CountingHandler], monkeypatch: Any, caplog: Any
) -> None:
    fast, general = apps
    token = api_key_for(UserFactory(role="annotator"))
    step = call(fast, "GET", NEXT, token=token)[2]["step"]
    wrong = orjson.loads(answer_of(step)) | {"question": "typical"}
    with caplog.at_level(logging.WARNING, logger="django.request"):
        fast_refusal = call(fast, "POST", ANSWERS, token=token, body=orjson.dumps(wrong))
    assert [record.getMessage() for record in caplog.records] == [f"Conflict: {ANSWERS}"]  # as Django logs it
    general_refusal = call(general, "POST", ANSWERS, token=token, body=orjson.dumps(wrong))
    assert fast_refusal[0] == general_refusal[0] == 409
    assert [record.getMessage() for record in caplog.records] == [f"Conflict: {ANSWERS}"] * 2
    assert fast_refusal[2] == general_refusal[2] and "next question" in fast_refusal[2]["detail"]
    calls = general.calls

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("annotation.fast.answer_submit", broken)
    status, headers, content = call(fast, "POST", ANSWERS, token=token, body=answer_of(step))
    assert status == 500 and general.calls == calls and "X-Request-ID" in headers
    assert b"the database went away" not in content  # DEBUG is off: no traceback to the client
    assert not Answer.objects.exists()


def test_the_lean_path_is_timed_and_identified_like_any_request(pool: None, apps: tuple[Any, CountingHandler]) -> None:
    fast, _general = apps
    token = api_key_for(UserFactory(role="annotator"))
    labels = {"view": "api-annotation-next", "method": "GET", "status": "2xx"}
    before = REGISTRY.get_sample_value("plausi_http_request_duration_seconds_count", labels) or 0
    status, headers, _body = call(fast, "GET", NEXT, token=token, HTTP_X_REQUEST_ID="proxy-id-1")
    assert status == 200 and headers["X-Request-ID"] == "proxy-id-1"
    assert REGISTRY.get_sample_value("plausi_http_request_duration_seconds_count", labels) == before + 1
    status, headers, _body = call(fast, "GET", NEXT + "/", token=token, HTTP_X_REQUEST_ID="not sane\n")
    assert status == 200 and headers["X-Request-ID"] != "not sane\n" and len(headers["X-Request-ID"]) == 32


def test_https_requests_carry_the_same_security_headers_as_the_general_path(pool: None, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 3600  # (read when the handler and the lean path are built)
    settings.SECURE_HSTS_PRELOAD = True
    general = CountingHandler()
    fast = annotation_fast_path(general)
    token = api_key_for(UserFactory(role="annotator"))
    calls = general.calls
    fast_headers = call(fast, "GET", NEXT, token=token, **{"wsgi.url_scheme": "https"})[1]
    assert general.calls == calls
    general_headers = call(general, "GET", NEXT, token=token, **{"wsgi.url_scheme": "https"})[1]
    fast_headers.pop("X-Request-ID"), general_headers.pop("X-Request-ID")
    assert fast_headers == general_headers and fast_headers["Strict-Transport-Security"].startswith("max-age=3600")


def test_the_setting_turns_it_off(settings: Any) -> None:
    general = CountingHandler()
    settings.PLAUSI_ANNOTATION = {**settings.PLAUSI_ANNOTATION, "FAST_PATH": False}
    assert annotation_fast_path(general) is general
