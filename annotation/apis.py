"""The annotation API: next question, answers (idempotent), skip and undo. Annotators see only their own work."""

from __future__ import annotations

import math
import re
from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.services import (
    NextSteps,
    annotator_is_paused,
    answer_submit,
    answer_undo,
    assignment_next_with_prefetch,
    assignment_skip,
    assignments_release,
)
from core.api.authentication import FastTokenAuthentication
from core.api.fast import FastJSONRenderer, ReleaseCyclesMixin, SingleRendererNegotiation
from core.api.permissions import HasAnyRole, IsCuratorOrAdmin
from core.api.schema import error
from core.api.throttles import ReportThrottle


class QuestionOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.label
    text = serializers.CharField()
    help = serializers.CharField()
    number = serializers.IntegerField()
    total = serializers.IntegerField()


class RelationRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.label


class CandidateContextSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    head_kind = serializers.CharField()
    query = serializers.CharField()
    titles = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())
    head_text = serializers.CharField()
    relation = RelationRefSerializer()
    tail = serializers.CharField()
    statement = serializers.CharField()
    context = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.context


class StepOutputSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()
    question = QuestionOutputSerializer()
    candidate = CandidateContextSerializer()
    then_if_yes = QuestionOutputSerializer(allow_null=True)
    release_token = serializers.CharField(
        help_text="Gives this lease back with POST /api/annotation/release (the page sends it when it is left)."
    )


class ProgressOutputSerializer(serializers.Serializer):
    answered_today = serializers.IntegerField()
    open_in_queue = serializers.IntegerField(help_text="Capped at 10,000 (shown as 10000+).")


class NextOutputSerializer(serializers.Serializer):
    step = StepOutputSerializer(allow_null=True)
    prefetch = StepOutputSerializer(allow_null=True, help_text="The next candidate's question, leased ahead.")
    progress = ProgressOutputSerializer()
    message = serializers.CharField()


class AnswerOutputSerializer(NextOutputSerializer):
    answer = serializers.IntegerField(help_text="The stored answer (the same one for a retried submit).")


def _empty_message(annotator: Any) -> str:
    if annotator_is_paused(annotator):
        return "Your account is paused while the quality of its answers is reviewed; please ask an admin."
    return "The queue is empty: there is nothing to annotate right now."


def next_body(
    annotator: Any,
    step: Any,
    prefetch: Any = None,
    *,
    extra: dict[str, Any] | None = None,
    answered_today: int | None = None,
) -> dict[str, Any]:
    """The body of ``next`` and of an answer (``extra`` adds the answer's id): plain data already shaped like
    ``NextOutputSerializer``, which documents it in the schema; running the nested serializer on every answer cost
    more than the SQL. Shared with the lean path (annotation/fast.py), so both answer with the same body."""
    data = selectors.step_data(step)
    body = {
        "step": data,
        "prefetch": selectors.step_data(prefetch) if data is not None else None,
        "progress": selectors.annotator_progress(annotator=annotator, answered_today=answered_today),
        "message": "" if data is not None else _empty_message(annotator),
    }
    return body | (extra or {})


def next_steps_body(annotator: Any, steps: NextSteps) -> dict[str, Any]:
    """The body of ``next`` from what ``assignment_next_with_prefetch`` returned (its count of today's answers
    included: the progress costs no statement of its own)."""
    return next_body(annotator, steps.step, steps.prefetch, answered_today=steps.answered_today)


def answer_body(annotator: Any, result: Any) -> tuple[int, dict[str, Any]]:
    """(status, body) of a stored or replayed answer: 201 when it was stored now, 200 for a retried key."""
    body = next_body(
        annotator,
        result.next_step,
        result.prefetch,
        extra={"answer": result.answer_id},
        answered_today=result.answered_today,
    )
    return (status.HTTP_201_CREATED if result.created else status.HTTP_200_OK), body


_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,40}")
_PLAIN_KEY = re.compile(r"[!-~]{1,64}")  # printable ASCII, no space: nothing for a CharField to trim or refuse


def answer_input_plain(data: Any) -> dict[str, Any] | None:
    """The validated answer input when the body is plainly valid (exact JSON types, nothing to coerce or trim),
    else None: then ``AnswerCreateInputSerializer`` validates it and words the errors.

    It accepts only input that the serializer accepts, and yields the same values; unknown fields are ignored by
    both (tests/annotation/test_answer_input.py checks this on generated input). Building the serializer
    deep-copies its five fields and left ~70 objects in reference cycles per answer, which only a garbage
    collection pausing the worker frees: the largest Python cost of the request outside the service (cProfile).
    """
    if type(data) is not dict:
        return None
    assignment, question, value, key = (
        data.get(name) for name in ("assignment", "question", "value", "idempotency_key")
    )
    seconds = data.get("seconds")
    if (
        type(assignment) is not int
        or assignment < 1
        or type(question) is not str
        or _SLUG.fullmatch(question) is None
        or type(value) is not bool
        or type(key) is not str
        or _PLAIN_KEY.fullmatch(key) is None
    ):
        return None
    if seconds is not None:
        if type(seconds) not in (int, float) or not math.isfinite(seconds) or not 0 <= seconds <= 86_400:
            return None
        seconds = float(seconds)
    return {"assignment": assignment, "question": question, "value": value, "idempotency_key": key, "seconds": seconds}


class AnnotationNextApi(ReleaseCyclesMixin, APIView):
    """The current question of your lease, or a newly leased candidate's first open question."""

    permission_classes = [HasAnyRole]
    renderer_classes = [FastJSONRenderer]  # the hot path (core.api.fast)
    content_negotiation_class = SingleRendererNegotiation
    parser_classes = [JSONParser]

    @extend_schema(operation_id="annotation_next", responses=NextOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(next_steps_body(request.user, assignment_next_with_prefetch(annotator=request.user)))


class AnswerCreateApi(ReleaseCyclesMixin, APIView):
    """Answer the current question. The response carries the next question (one round trip per answer)."""

    permission_classes = [HasAnyRole]
    renderer_classes = [FastJSONRenderer]  # the hot path (core.api.fast)
    content_negotiation_class = SingleRendererNegotiation
    parser_classes = [JSONParser]

    class AnswerCreateInputSerializer(serializers.Serializer):
        assignment = serializers.IntegerField(min_value=1)
        question = serializers.SlugField(max_length=40)
        value = serializers.BooleanField()
        idempotency_key = serializers.CharField(max_length=64)
        seconds = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=86_400, default=None)

    @extend_schema(
        operation_id="annotation_answer",
        request=AnswerCreateInputSerializer,
        responses={
            201: AnswerOutputSerializer,
            200: AnswerOutputSerializer,
            409: error("The lease has ended, or it asks another question now: ask for the next question."),
        },
    )
    def post(self, request: Request) -> Response:
        data = answer_input_plain(request.data)
        if data is None:
            serializer = self.AnswerCreateInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        result = answer_submit(
            annotator=request.user,
            assignment_id=data["assignment"],
            question_slug=data["question"],
            value=data["value"],
            idempotency_key=data["idempotency_key"],
            seconds=data["seconds"],
        )
        status_code, body = answer_body(request.user, result)
        return Response(body, status=status_code)


class AssignmentSkipApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        operation_id="annotation_skip",
        request=None,
        responses={200: NextOutputSerializer, 409: error("The lease has ended already.")},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment_skip(annotator=request.user, assignment_id=assignment_id)
        return Response(next_steps_body(request.user, assignment_next_with_prefetch(annotator=request.user)))


class BeaconJSONParser(JSONParser):
    """JSON sent as ``text/plain``: what ``navigator.sendBeacon`` sends for a string body."""

    media_type = "text/plain"


class SessionWithoutCsrfAuthentication(SessionAuthentication):
    """The session, without DRF's CSRF check: for the release beacon only, which can send no CSRF header and is
    authorised per lease by its release token (``annotation.services.lease_release_token``) instead."""

    def enforce_csrf(self, request: Request) -> None:
        return None


class SessionWithoutCsrfScheme(SessionScheme):
    """In the OpenAPI schema: the session cookie, as a scheme of its own (no CSRF header needed)."""

    target_class = "annotation.apis.SessionWithoutCsrfAuthentication"
    name = "cookieAuthNoCsrf"


class AssignmentsReleaseApi(APIView):
    """Give back leases when the page is left (``navigator.sendBeacon``), so that their slots do not wait for the
    lease to expire. Each lease is named with the ``release_token`` its step carried; a lease that has ended already
    is left as it is (so a repeated beacon is harmless). The body is JSON, sent as ``application/json`` or, as a
    beacon sends a string, ``text/plain``."""

    authentication_classes = [FastTokenAuthentication, SessionWithoutCsrfAuthentication]
    permission_classes = [HasAnyRole]
    parser_classes = [JSONParser, BeaconJSONParser]

    class ReleaseInputSerializer(serializers.Serializer):
        class LeaseSerializer(serializers.Serializer):
            assignment = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
            token = serializers.CharField(max_length=64)

        leases = LeaseSerializer(many=True, allow_empty=False, max_length=20)  # type: ignore[call-arg]  # DRF stubs

    @extend_schema(
        operation_id="annotation_release",
        request=ReleaseInputSerializer,
        responses={
            200: inline_serializer("ReleaseOutput", {"released": serializers.IntegerField()}),
            403: error("A release token is not valid for you (nothing was released)."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.ReleaseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        leases = [(lease["assignment"], lease["token"]) for lease in serializer.validated_data["leases"]]
        return Response({"released": assignments_release(annotator=request.user, leases=leases)})


class AnswerUndoApi(APIView):
    """Take back your last answer (within two minutes); you are asked that question again."""

    permission_classes = [HasAnyRole]

    @extend_schema(
        operation_id="annotation_undo",
        request=None,
        responses={
            200: NextOutputSerializer,
            409: inline_serializer("UndoConflict", {"detail": serializers.CharField()}),
        },
    )
    def post(self, request: Request) -> Response:
        answer_undo(annotator=request.user)
        return Response(next_steps_body(request.user, assignment_next_with_prefetch(annotator=request.user)))


class AgreementReportApi(APIView):
    """Agreement per question and per-annotator statistics (curators and admins)."""

    throttle_classes = [ReportThrottle]

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(
        operation_id="annotation_agreement",
        responses=inline_serializer(
            "AgreementReport",
            {
                "questions": serializers.ListField(child=serializers.DictField()),
                "annotators": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        from annotation.reports import agreement_report_cached

        return Response(agreement_report_cached())


class LabelOutputSerializer(serializers.Serializer):
    """One consolidated label: the answer to one question about one candidate, with its evidence."""

    id = serializers.IntegerField()
    candidate = serializers.IntegerField(source="candidate_id")
    question = serializers.CharField(source="question.slug")
    value = serializers.BooleanField(allow_null=True, help_text="null while undecided or tied.")
    method = serializers.CharField(help_text="How it was settled: majority, gold, audit, known, an import's source...")
    yes = serializers.IntegerField(help_text="Yes votes counted.")
    no = serializers.IntegerField(help_text="No votes counted.")
    confidence = serializers.FloatField()
    updated_at = serializers.DateTimeField()


class LabelListApi(GenericAPIView):
    """Consolidated labels, newest change first (curators and admins), filterable; page through them with
    ``limit``/``offset``, or poll ``updated_after`` for what changed. The whole set at once: the ``labels``
    export (``POST /api/exports/``), which streams."""

    permission_classes = [IsCuratorOrAdmin]
    serializer_class = LabelOutputSerializer

    class FilterSerializer(serializers.Serializer):
        question = serializers.SlugField(required=False, max_length=40)
        candidate = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
        method = serializers.CharField(required=False, max_length=16)
        value = serializers.ChoiceField(choices=["yes", "no", "undecided"], required=False)
        updated_after = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="annotation_labels_list", parameters=[FilterSerializer], responses=LabelOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.label_list(filters=filters.validated_data))
        return self.get_paginated_response(LabelOutputSerializer(page, many=True).data)
