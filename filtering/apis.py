"""REST API of filtering: configurations, runs, reports and the reasons a candidate was dropped."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsAdmin, IsCuratorOrAdmin
from core.api.runs import RunOutputSerializer
from core.api.throttles import ReportThrottle, RunStartThrottle
from core.api.validators import no_null_characters
from filtering import selectors
from filtering.models import FilterRun
from filtering.services import filter_configuration_create, filter_run_create


class FilterConfigurationOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    note = serializers.CharField()
    config = serializers.JSONField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class FilterRunOutputSerializer(RunOutputSerializer):
    configuration_version = serializers.IntegerField(source="configuration.version")
    config = serializers.JSONField()
    candidates_seen = serializers.IntegerField()
    candidates_kept = serializers.IntegerField()
    candidates_dropped = serializers.IntegerField()
    moved_to_pooled = serializers.IntegerField()
    moved_to_filtered_out = serializers.IntegerField()
    timings = serializers.DictField(child=serializers.FloatField())  # type: ignore[assignment]  # seconds per phase


class FilterReportOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    candidates_seen = serializers.IntegerField()
    candidates_kept = serializers.IntegerField()
    candidates_dropped = serializers.IntegerField()
    report = serializers.JSONField()


class FilterDecisionOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="run_id")
    rule = serializers.CharField()
    score = serializers.FloatField()
    reason = serializers.CharField()


class FilterConfigurationListApi(GenericAPIView):
    """Configuration versions, newest first (GET); a new version from a JSON configuration (POST)."""

    permission_classes = [IsAdmin]
    serializer_class = FilterConfigurationOutputSerializer

    class FilterConfigurationCreateInputSerializer(serializers.Serializer):
        config = serializers.JSONField(validators=[no_null_characters])
        note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
        activate = serializers.BooleanField(required=False, default=True)

    @extend_schema(operation_id="filter_configurations_list", responses=FilterConfigurationOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.filter_configuration_list())
        return self.get_paginated_response(FilterConfigurationOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="filter_configurations_create",
        request=FilterConfigurationCreateInputSerializer,
        responses={201: FilterConfigurationOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.FilterConfigurationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        configuration = filter_configuration_create(created_by=request.user, **serializer.validated_data)
        return Response(FilterConfigurationOutputSerializer(configuration).data, status=status.HTTP_201_CREATED)


class FilterRunListApi(GenericAPIView):
    """Filter runs, newest first (GET); start a run of the active or a named configuration (POST)."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsAdmin]
    serializer_class = FilterRunOutputSerializer

    class FilterRunCreateInputSerializer(serializers.Serializer):
        configuration_version = serializers.IntegerField(required=False, min_value=1, allow_null=True, default=None)

    @extend_schema(operation_id="filter_runs_list", responses=FilterRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.filter_run_list())
        return self.get_paginated_response(FilterRunOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="filter_runs_create",
        request=FilterRunCreateInputSerializer,
        responses={202: FilterRunOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.FilterRunCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = filter_run_create(
            created_by=request.user,
            configuration_version=serializer.validated_data["configuration_version"],
            enqueue=True,
        )
        run.refresh_from_db()
        return Response(FilterRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def _run_or_404(run_id: int) -> FilterRun | Response:
    run = selectors.filter_run_get(run_id=run_id)
    if run is None:
        return Response({"detail": "No such filter run."}, status=status.HTTP_404_NOT_FOUND)
    return run


class FilterRunDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="filter_runs_retrieve", responses=FilterRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(run_id)
        return run if isinstance(run, Response) else Response(FilterRunOutputSerializer(run).data)


class FilterRunReportApi(APIView):
    """Counts per rule, overlaps between rules and examples of each rule's drops."""

    throttle_classes = [ReportThrottle]

    permission_classes = [IsAdmin]

    @extend_schema(operation_id="filter_runs_report", responses=FilterReportOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = _run_or_404(run_id)
        return run if isinstance(run, Response) else Response(FilterReportOutputSerializer(run).data)


class CandidateFilterDecisionsApi(APIView):
    """Why was this candidate dropped? The rules that fired on it in the latest run that dropped it."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="candidates_filter_decisions", responses=FilterDecisionOutputSerializer(many=True))
    def get(self, request: Request, candidate_id: int) -> Response:
        decisions: Any = selectors.candidate_filter_decisions(candidate_id=candidate_id)
        return Response(FilterDecisionOutputSerializer(decisions, many=True).data)
