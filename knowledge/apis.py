"""REST API of the knowledge domain: one view per operation; serializers validate and shape, services act."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import HasAnyRole, IsAdmin, IsCuratorOrAdmin
from core.api.runs import RunOutputSerializer
from core.api.throttles import RunStartThrottle
from core.roles import user_roles
from knowledge import selectors
from knowledge.models import Candidate, IngestRun
from knowledge.services import ingest_run_create_from_uploads

# --- output serializers -------------------------------------------------------------------------------------


class RelationOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.label
    description = serializers.CharField()
    sentence_template = serializers.CharField()
    is_active = serializers.BooleanField()


class ProductOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField(source="category.name", allow_null=True, default=None)
    attributes = serializers.DictField()


class QueryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    normalized_text = serializers.CharField()
    specificity = serializers.FloatField(allow_null=True)


class PairOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    query = QueryOutputSerializer(allow_null=True)
    product = ProductOutputSerializer()
    other_product = ProductOutputSerializer(allow_null=True)
    observation_count = serializers.IntegerField()


class CandidateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    head_kind = serializers.CharField()
    pair = PairOutputSerializer(allow_null=True)
    head_text = serializers.CharField()
    relation = serializers.CharField(source="relation.slug")
    tail = serializers.CharField()
    tail_normalized = serializers.CharField()
    generator = serializers.CharField()
    prompt_id = serializers.CharField()
    support_count = serializers.IntegerField()
    known_labels = serializers.DictField(child=serializers.BooleanField())
    status = serializers.CharField()
    ingest_run = serializers.IntegerField(source="ingest_run_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IngestFileOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(required=False)
    sha256 = serializers.CharField(required=False)
    format = serializers.CharField(required=False)
    lines = serializers.IntegerField(required=False)
    outcome = serializers.CharField(required=False)


class IngestErrorOutputSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class IngestRunOutputSerializer(RunOutputSerializer):
    source = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.source
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    dry_run = serializers.BooleanField()
    skip_invalid = serializers.BooleanField()
    format = serializers.CharField()
    files = IngestFileOutputSerializer(many=True)
    lines_total = serializers.IntegerField()
    lines_valid = serializers.IntegerField()
    lines_invalid = serializers.IntegerField()
    candidates_created = serializers.IntegerField()
    candidates_merged = serializers.IntegerField()
    products_created = serializers.IntegerField()
    queries_created = serializers.IntegerField()
    pairs_created = serializers.IntegerField()
    errors = IngestErrorOutputSerializer(many=True)  # type: ignore[assignment]  # DRF stubs: Serializer.errors
    error_count = serializers.IntegerField()
    has_rejects_file = serializers.SerializerMethodField()
    files_removed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the retention clean-up deleted the uploaded files and the rejects file."
    )
    files_expired = serializers.SerializerMethodField(help_text="The files were deleted by the retention clean-up.")
    timings = serializers.DictField(child=serializers.FloatField())  # type: ignore[assignment]  # seconds per phase

    def get_has_rejects_file(self, run: IngestRun) -> bool:
        return bool(run.rejects_path) and run.files_removed_at is None

    def get_files_expired(self, run: IngestRun) -> bool:
        return run.files_removed_at is not None


# --- views --------------------------------------------------------------------------------------------------


class RelationListApi(GenericAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = RelationOutputSerializer
    pagination_class = None

    @extend_schema(operation_id="relations_list", responses=RelationOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(RelationOutputSerializer(selectors.relation_list(), many=True).data)


class CandidateListApi(GenericAPIView):
    """Candidates, newest first (curators and admins)."""

    permission_classes = [IsCuratorOrAdmin]
    serializer_class = CandidateOutputSerializer

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Candidate.Status.choices, required=False)
        relation = serializers.SlugField(required=False)
        head_kind = serializers.ChoiceField(choices=Candidate.HeadKind.choices, required=False)
        category = serializers.CharField(required=False, max_length=200)
        ingest_run = serializers.IntegerField(required=False, min_value=1)
        search = serializers.CharField(required=False, max_length=200)

    @extend_schema(
        operation_id="candidates_list", parameters=[FilterSerializer], responses=CandidateOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.candidate_list(filters=filters.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(CandidateOutputSerializer(page, many=True).data)


class CandidateDetailApi(APIView):
    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="candidates_retrieve", responses=CandidateOutputSerializer)
    def get(self, request: Request, candidate_id: int) -> Response:
        candidate = selectors.candidate_get(candidate_id=candidate_id)
        if candidate is None:
            return Response({"detail": "No such candidate."}, status=status.HTTP_404_NOT_FOUND)
        return Response(CandidateOutputSerializer(candidate).data)


class IngestCreateApi(APIView):
    """Upload files to ingest (admins). The ingest runs on a worker; poll the returned run."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser]

    class IngestCreateInputSerializer(serializers.Serializer):
        files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False)
        format = serializers.ChoiceField(choices=["jsonl", "csv"], required=False, allow_blank=True, default="")
        dry_run = serializers.BooleanField(required=False, default=False)
        skip_invalid = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        operation_id="ingest_create",
        request=IngestCreateInputSerializer,
        responses={202: IngestRunOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        form: Any = request.data
        data: Any = {
            "files": request.FILES.getlist("files"),
            "format": form.get("format", ""),
            "dry_run": form.get("dry_run", False),
            "skip_invalid": form.get("skip_invalid", False),
        }
        serializer = self.IngestCreateInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        run = ingest_run_create_from_uploads(
            uploads=serializer.validated_data["files"],
            created_by=request.user,
            dry_run=serializer.validated_data["dry_run"],
            skip_invalid=serializer.validated_data["skip_invalid"],
            format=serializer.validated_data["format"],
        )
        run.refresh_from_db()
        return Response(IngestRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class IngestRunListApi(GenericAPIView):
    permission_classes = [IsAdmin]
    serializer_class = IngestRunOutputSerializer

    @extend_schema(operation_id="ingest_runs_list", responses=IngestRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.ingest_run_list())
        return self.get_paginated_response(IngestRunOutputSerializer(page, many=True).data)


class IngestRunDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="ingest_runs_retrieve", responses=IngestRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = selectors.ingest_run_get(run_id=run_id)
        if run is None:
            return Response({"detail": "No such ingest run."}, status=status.HTTP_404_NOT_FOUND)
        return Response(IngestRunOutputSerializer(run).data)


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class MeApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response({"username": request.user.get_username(), "roles": sorted(user_roles(request.user))})
