"""Schema-driven fuzzing of the whole REST API (issue 8): schemathesis calls every operation of the OpenAPI
schema that drf-spectacular serves at /api/schema/, in-process through Django's WSGI application against the real
PostgreSQL test database, once as an admin and once as an annotator. No request may end in a server error, and
every response must use a documented status code and content type and match the documented body schema.

The body check is stricter than plain OpenAPI: every object schema that lists its properties is closed
(``additionalProperties: false``) for the run, so a field that an endpoint returns without documenting it fails
here as surely as a documented field that is missing.

A little real data is seeded first through the services (an ingest and a filter run, a queue with a lease of the
fuzzing user, scored candidates in review batches, accepted knowledge, training, scoring, export and generation
runs, a webhook endpoint with a dead delivery). Each id-bearing path parameter gets a seeded object's id as its
example, and the requests that random data would hardly ever get right (an answer to the lease's current question,
an audit answer and a batch decision, a token exchange, an upload, a generation run) get a valid body as their
example, so the fuzzer reaches the success paths as well as the 404s and 400s. The coverage phase adds schemathesis'
deterministic edge cases (boundary values, wrong types, missing fields, unexpected methods and media types) to the
random ones, in the admin's run (see ``identity``).

Bounded and repeatable: a fixed seed, derandomized generation, no example database, and a few dozen random
examples per operation (40 as the admin, 20 as the annotator: about 65-80 s and 20-25 s on the 2-core machine).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client

from annotation.services import assignment_next, queue_fill
from classifiers.models import ModelVersion
from classifiers.services import model_version_activate, training_run_request
from core.tokens import api_token_create
from curation.models import AcceptedEdge, BatchMember, ExportRun, GraphNode
from curation.services import (
    audit_answer,
    candidate_decide,
    export_run_claim,
    export_run_create,
    export_run_execute,
    review_batches_create,
)
from filtering.config import DEFAULT_CONFIG
from filtering.services import (
    filter_configuration_create,
    filter_run_claim,
    filter_run_create,
    filter_run_execute,
)
from generation.services import generation_run_create
from knowledge.models import BehaviourPair, Candidate, IngestRun
from tests.conftest import search_buy
from tests.factories import TEST_PASSWORD, CandidateFactory, UserFactory, api_key_for, api_key_keep
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create, webhook_test_send

SEED = 8
MAX_EXAMPLES = 40
# The annotator's run: most operations refuse it with 403 before reading any input, so more random cases add
# nothing there, and the admin's run (which may call the annotator's operations too) fuzzes every operation with
# MAX_EXAMPLES and the coverage phase.
ANNOTATOR_MAX_EXAMPLES = 20
# Not ``negative_data_rejection``: DRF deliberately accepts some schema-invalid input (unknown body fields are
# ignored, an empty or malformed filter or pagination parameter means "not given"), so it fails by design.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Identity:
    """Who the fuzzer is. Its token goes with every request and is put back after any request that revoked it:
    ``DELETE /api/auth/token/`` is fuzzed like every other operation, and would otherwise log the run out."""

    user: Any
    key: str
    coverage: bool  # run schemathesis' coverage phase (see ``identity``)
    max_examples: int = MAX_EXAMPLES

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.key}"}

    def keep_token(self) -> None:
        api_key_keep(self.user, self.key)


@dataclass
class Seeded:
    path_ids: dict[str, int | str]  # path parameter name (``run_id``: the segment before it) -> an existing value
    bodies: dict[str, dict[str, Any]]  # operation id -> a valid request body (JSON, or multipart for an upload)


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """Django's WSGI application without the per-request connection recycling (as Django's own test client
    does): the requests share the test's transaction, so they see the seeded rows and leave nothing behind."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(params=["admin", "annotator"])
def identity(request: pytest.FixtureRequest, db: Any) -> Identity:
    """The admin may call every operation (the annotator's own too), so the admin's run takes every phase; the
    annotator's run skips the coverage phase, whose deterministic edge cases would mostly meet the same 403 on the
    operations it may not call (its examples and random cases still check every refusal against the schema): that
    took the annotator's run from about 65 to 40 s on the development machine; and it draws fewer random cases
    (``ANNOTATOR_MAX_EXAMPLES``)."""
    user = UserFactory(username=f"fuzz-{request.param}", role=request.param)
    admin = request.param == "admin"
    return Identity(
        user=user,
        key=api_key_for(user),
        coverage=admin,
        max_examples=MAX_EXAMPLES if admin else ANNOTATOR_MAX_EXAMPLES,
    )


@pytest.fixture
def seeded(
    identity: Identity,
    settings: Any,
    tmp_path: Path,
    ingest: Callable[..., IngestRun],
    write_lines: Any,
    scored_pool: Any,
) -> Seeded:
    """A little of everything, made by the services."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"  # uploads and exports land here, not under var/
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # the WSGI client's host
    admin = UserFactory(username="fuzz-seed-admin", role="admin")

    ingest_run = ingest(
        write_lines([search_buy(tail) for tail in ("grip icy sidewalks", "keep feet warm", "great great great")])
    )
    rules_only = copy.deepcopy(DEFAULT_CONFIG)
    rules_only["similarity"]["enabled"] = False  # no sentence encoder to load
    filter_run = filter_run_create(configuration_version=filter_configuration_create(config=rules_only).version)
    assert filter_run_claim(run_id=filter_run.pk)
    filter_run = filter_run_execute(run_id=filter_run.pk)
    CandidateFactory.create_batch(3, status=Candidate.Status.POOLED)
    queue_fill()
    step = assignment_next(annotator=identity.user)
    assert step is not None

    scored = scored_pool(12)
    candidate_decide(candidate_id=scored[0].pk, accept=True, curator=admin)  # a graph node, outside any batch
    batch = review_batches_create(actor=admin, seed=1)[0]
    audit_sample = list(BatchMember.objects.filter(batch=batch, in_audit=True).values_list("candidate_id", flat=True))
    for candidate_id in audit_sample:  # fully audited: the fuzzed decision can approve it
        audit_answer(batch_id=batch.pk, candidate_id=candidate_id, value=True, curator=admin)
    version = ModelVersion.objects.filter(is_active=True).first()
    assert version is not None
    scoring_run = model_version_activate(version_id=version.pk, user=admin)
    training_run = training_run_request(target="plausible", requested_by=admin)
    assert training_run is not None
    export = export_run_create(format=ExportRun.Format.JSONL, actor=admin, enqueue=False)
    assert export_run_claim(run_id=export.pk)
    export_run_execute(run_id=export.pk)
    generation_run = generation_run_create(
        backend="openai",
        relations=["capable_of"],
        pair_ids=list(BehaviourPair.objects.values_list("pk", flat=True)[:2]),
        model_name="fuzz-model",
        actor=admin,
    )
    node = GraphNode.objects.first()
    edge = AcceptedEdge.objects.first()
    assert node is not None and edge is not None
    spare_token, _key = api_token_create(user=identity.user, name="fuzz-spare")  # one the fuzzed DELETE may revoke
    endpoint = webhook_endpoint_create(url="http://127.0.0.1:9/hooks", event_types=[])
    delivery = webhook_test_send(endpoint_id=endpoint.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.DEAD)  # replayable
    return Seeded(
        path_ids={
            "candidate_id": scored[1].pk,
            "assignment_id": step.assignment.pk,
            "batch_id": batch.pk,
            "version_id": version.pk,
            "node_id": node.pk,
            "edge_id": edge.pk,
            "token_id": spare_token.pk,
            "endpoint_id": endpoint.pk,
            "delivery_id": delivery.pk,
            "ingest-runs": ingest_run.pk,
            "filter-runs": filter_run.pk,
            "scoring-runs": scoring_run.pk,
            "training-runs": training_run.pk,
            "exports": export.pk,
            "runs": generation_run.pk,
            "kind": "ingest",  # /api/runs/{kind}/{run_id}/: any kind, in the common shape
            "{kind}": ingest_run.pk,
        },
        bodies={
            "annotation_answer": {
                "assignment": step.assignment.pk,
                "question": step.question.slug,
                "value": True,
                "idempotency_key": "fuzz-answer",
            },
            "curation_audit_answer": {"candidate": audit_sample[0], "value": True},
            "curation_batch_decide": {"approve": True},
            "classifier_training_request": {"target": "typical"},
            "auth_token_create": {"username": admin.username, "password": TEST_PASSWORD},
            "ingest_create": {"files": [orjson.dumps(search_buy("walk safely to the bus stop")).decode()]},
            "imports_create": {
                "source": "argilla",
                "relation": "capable_of",
                "files": [orjson.dumps([{"head": "yoga mat", "tail": "roll up small", "label": "yes"}]).decode()],
            },
            "generation_runs_create": {
                "backend": "openai",
                "relations": ["capable_of"],
                "pairs": 2,
                "model": "fuzz-model",
            },
        },
    )


def _closed(node: Any) -> None:
    """Close every object schema that lists its properties (see the module docstring)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _closed(value)
    elif isinstance(node, list):
        for value in node:
            _closed(value)


def _with_examples(raw: dict[str, Any], seeded: Seeded) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    for path, operations in raw["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    segments = path.split("/")
                    name = parameter["name"]
                    key = segments[segments.index("{run_id}") - 1] if name == "run_id" else name
                    assert key in seeded.path_ids, f"seed an object for {name} in {path}"
                    parameter["example"] = seeded.path_ids[key]
            body = seeded.bodies.get(operation["operationId"])
            if body is not None:
                content = operation["requestBody"]["content"]
                media_type = "application/json" if "application/json" in content else "multipart/form-data"
                content[media_type]["example"] = body
    return raw


@pytest.fixture
def api_schema(wsgi_app: WSGIHandler, identity: Identity, seeded: Seeded) -> Any:
    response = Client(wsgi_app).get("/api/schema/?format=json", headers=identity.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    raw = _with_examples(response.get_json(), seeded)
    _closed(raw["components"])
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",  # valid and invalid requests
                "max-examples": identity.max_examples,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,  # the token is ours, sent with every request
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": identity.coverage},
                "fuzzing": {"enabled": True},
            },
        }
    )
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.app = wsgi_app
    return schema


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's lazy-schema runner reads and rewrites ``node._nodeid``, which pytest 9.2 no longer
    has (the node id moved to ``_id``); give it the attribute it expects. Each operation is still reported as
    its own subtest, labelled with its method and path."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_operation_fails_with_a_server_error_or_answers_outside_its_schema(case: Any, identity: Identity) -> None:
    # Each request runs in a savepoint, rolled back after a server error: a failed statement would otherwise
    # abort the test's transaction and fail every later request with it, hiding which one was the defect.
    savepoint = transaction.savepoint()
    response = case.call(headers=identity.headers)
    if response.status_code >= 500:
        transaction.savepoint_rollback(savepoint)
    else:
        transaction.savepoint_commit(savepoint)
    identity.keep_token()
    case.validate_response(response, checks=CHECKS)
