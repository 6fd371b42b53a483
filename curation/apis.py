"""REST API of curation: review batches and their audits, decisions, the graph, exports (admins) and the log."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis import CandidateContextSerializer
from core.api.permissions import IsAdmin, IsCuratorOrAdmin
from core.api.runs import RunOutputSerializer
from core.api.schema import error
from core.api.throttles import ReportThrottle, RunStartThrottle
from core.errors import Gone
from curation import selectors
from curation.models import ExportRun, ReviewBatch
from curation.services import (
    audit_answer,
    batch_decide,
    batch_estimate,
    batches_per_call,
    candidate_decide,
    export_folder,
    export_run_create,
    review_batches_create,
)


class StratumEstimateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.label
    relation_id = serializers.IntegerField(help_text="The stratum's relation (a batch holds one unless formed across).")
    category_id = serializers.IntegerField(
        allow_null=True, help_text="The stratum's category; null: no category, or small categories merged."
    )
    category_count = serializers.IntegerField(help_text="More than 1: small categories of the relation merged.")
    score_low = serializers.FloatField()
    score_high = serializers.FloatField()
    size = serializers.IntegerField()
    audit_size = serializers.IntegerField()
    audit_yes = serializers.IntegerField()
    audit_no = serializers.IntegerField()
    audited = serializers.IntegerField(help_text="audit_yes + audit_no.")
    precision = serializers.FloatField(allow_null=True)
    wilson_low = serializers.FloatField()
    wilson_high = serializers.FloatField()
    flagged = serializers.BooleanField(help_text="The stratum's precision is under the bar.")
    excluded = serializers.BooleanField(help_text="Excluded when the batch was approved (its candidates went back).")


class EstimateSerializer(serializers.Serializer):
    """The stratified estimate of the batch's precision (of its kept strata once approved with exclusions)."""

    audited = serializers.IntegerField()
    audit_size = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)
    wilson_low = serializers.FloatField()
    wilson_high = serializers.FloatField()
    effective_n = serializers.FloatField(
        allow_null=True, help_text="Kish's effective sample size of the interval; null: the whole batch audited."
    )
    complete = serializers.BooleanField()
    min_precision = serializers.FloatField()
    strata = StratumEstimateSerializer(many=True, help_text="Each stratum's audit result.")


class BatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    relation = serializers.CharField(
        source="relation.slug", allow_null=True, default=None, help_text="Null: a batch formed across relations."
    )
    category = serializers.CharField(
        source="category.name", allow_null=True, default=None, help_text="Null: several categories, or none."
    )
    score_low = serializers.FloatField()
    score_high = serializers.FloatField()
    size = serializers.IntegerField()
    audit_size = serializers.IntegerField()
    estimate = serializers.SerializerMethodField()
    versions = serializers.JSONField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    override_reason = serializers.CharField()

    @extend_schema_field(EstimateSerializer)
    def get_estimate(self, batch: ReviewBatch) -> dict[str, Any]:
        return batch_estimate(batch)


class AuditItemOutputSerializer(serializers.Serializer):
    candidate = CandidateContextSerializer()
    score = serializers.FloatField()
    value = serializers.BooleanField(allow_null=True, help_text="The curator's answer; null while unanswered.")
    stratum = serializers.IntegerField()


class ScoredContextOutputSerializer(CandidateContextSerializer):
    score = serializers.FloatField()


class BatchDetailOutputSerializer(serializers.Serializer):
    batch = BatchOutputSerializer()
    estimate = EstimateSerializer()
    histogram = serializers.ListField(child=serializers.IntegerField(), help_text="Counts in ten score bins.")
    audit = AuditItemOutputSerializer(many=True)
    best = ScoredContextOutputSerializer(many=True, help_text="The highest-scored; every candidate of a small batch.")
    worst = ScoredContextOutputSerializer(many=True, help_text="The lowest-scored (none repeated from best).")


class QueueOutputSerializer(serializers.Serializer):
    unbatched = serializers.IntegerField(help_text="Scored candidates in no open batch.")
    open_batches = serializers.IntegerField(help_text="Batches being audited.")
    open_candidates = serializers.IntegerField(help_text="Candidates in the open batches.")
    audit_left_open = serializers.IntegerField(help_text="Audit answers the open batches still need.")
    batches_needed = serializers.IntegerField(help_text="Batches the unbatched candidates will make.")
    audit_needed_unbatched = serializers.IntegerField(help_text="Audit answers those batches will need.")
    audit_left_total = serializers.IntegerField(help_text="Audit answers between the curators and an empty queue.")
    target_size = serializers.IntegerField()
    half_width = serializers.FloatField()


class CandidateDecisionOutputSerializer(serializers.Serializer):
    candidate = serializers.IntegerField(source="pk")
    status = serializers.CharField()


class GraphSummaryOutputSerializer(serializers.Serializer):
    nodes = serializers.IntegerField()
    nodes_by_kind = serializers.DictField(child=serializers.IntegerField())
    edges = serializers.IntegerField()
    edges_by_relation = serializers.DictField(child=serializers.IntegerField())
    edges_by_category = serializers.DictField(child=serializers.IntegerField())


class NodeRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.label


class NodeOutputSerializer(NodeRefOutputSerializer):
    key = serializers.CharField()


class EdgeOutputSerializer(serializers.Serializer):
    head = NodeRefOutputSerializer()
    relation = serializers.CharField()
    tail = NodeRefOutputSerializer()
    category = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    batch = serializers.IntegerField(allow_null=True)
    accepted_at = serializers.DateTimeField()


class GraphNodeOutputSerializer(serializers.Serializer):
    node = NodeOutputSerializer()
    out = EdgeOutputSerializer(many=True, help_text="Edges from this node, newest first.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["in"] = EdgeOutputSerializer(many=True, help_text="Edges into this node, newest first.")  # a keyword
        return fields


class CurationEventOutputSerializer(serializers.Serializer):
    action = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    candidate = serializers.IntegerField(source="candidate_id", allow_null=True)
    details = serializers.DictField()
    created_at = serializers.DateTimeField()


class BatchListApi(GenericAPIView):
    """Review batches, newest first (``?status=auditing|approved|rejected``); POST forms the next batches of the
    scored candidates that are in no open batch (at most ``max_batches``, default ``BATCHES_PER_CALL``)."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsCuratorOrAdmin]
    serializer_class = BatchOutputSerializer

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ReviewBatch.Status.choices, required=False)

    @extend_schema(
        operation_id="curation_batches_list",
        parameters=[FilterSerializer],
        responses=BatchOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.batch_list(status=filters.validated_data.get("status")))
        return self.get_paginated_response(BatchOutputSerializer(page, many=True).data)

    class CreateInputSerializer(serializers.Serializer):
        across_relations = serializers.BooleanField(
            required=False, default=False, help_text="Let a batch hold several relations (off: one relation each)."
        )
        target_size = serializers.IntegerField(
            required=False, min_value=1, max_value=1_000_000, help_text="Default: BATCH_TARGET_SIZE."
        )
        max_batches = serializers.IntegerField(
            required=False,
            min_value=1,
            max_value=1_000,
            help_text="How many batches to form, the plan's first (default: BATCHES_PER_CALL, 10); call again for "
            "more. The rest of the pool stays unbatched.",
        )

    @extend_schema(
        operation_id="curation_batches_create",
        request=CreateInputSerializer,
        responses={
            201: BatchOutputSerializer(many=True),
            409: error("Every target needs an active classifier before candidates can be batched."),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.CreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = {"max_batches": batches_per_call(), **data.validated_data}
        batches = review_batches_create(actor=request.user, **options)
        return Response(BatchOutputSerializer(batches, many=True).data, status=status.HTTP_201_CREATED)


class QueueApi(APIView):
    """How many candidates and audit answers stand between the curators and an empty queue."""

    throttle_classes = [ReportThrottle]
    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="curation_queue", responses=QueueOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(QueueOutputSerializer(selectors.curation_queue_cached()).data)


class BatchDetailApi(APIView):
    """A batch with its estimate, score histogram, audit sample (contexts and answers) and examples."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="curation_batch", responses=BatchDetailOutputSerializer)
    def get(self, request: Request, batch_id: int) -> Response:
        detail = selectors.batch_detail(get_object_or_404(selectors.batches(), pk=batch_id))
        return Response(BatchDetailOutputSerializer(detail).data)


class AuditAnswerApi(APIView):
    permission_classes = [IsCuratorOrAdmin]

    class AuditInputSerializer(serializers.Serializer):
        candidate = serializers.IntegerField(min_value=1)
        value = serializers.BooleanField()

    @extend_schema(
        operation_id="curation_audit_answer",
        request=AuditInputSerializer,
        responses={200: EstimateSerializer, 409: error("The batch is decided already.")},
    )
    def post(self, request: Request, batch_id: int) -> Response:
        data = self.AuditInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = audit_answer(
            batch_id=batch_id,
            candidate_id=data.validated_data["candidate"],
            value=data.validated_data["value"],
            curator=request.user,
        )
        return Response(batch_estimate(batch))


class BatchDecisionApi(APIView):
    """Approve (every candidate becomes accepted knowledge, audited No's are rejected) or reject a fully audited
    batch. An approval may leave out strata (``exclude_strata``): their candidates go back to the pool like a
    rejected batch's. Approving under the precision bar (of the kept strata) needs ``override_reason``."""

    permission_classes = [IsCuratorOrAdmin]

    class DecisionInputSerializer(serializers.Serializer):
        approve = serializers.BooleanField()
        override_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
        exclude_strata = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            default=list,
            max_length=200,  # a batch has a few dozen strata; a multipart body stays under Django's field limit
            help_text="Ids of this batch's strata to leave out of an approval (see the batch's estimate.strata).",
        )

    @extend_schema(
        operation_id="curation_batch_decide",
        request=DecisionInputSerializer,
        responses={
            200: BatchOutputSerializer,
            409: error("Decided already, audit not complete, or under the bar without an override reason."),
        },
    )
    def post(self, request: Request, batch_id: int) -> Response:
        data = self.DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = batch_decide(batch_id=batch_id, curator=request.user, **data.validated_data)
        return Response(BatchOutputSerializer(batch).data)


class CandidateDecisionApi(APIView):
    permission_classes = [IsCuratorOrAdmin]

    class CandidateDecisionInputSerializer(serializers.Serializer):
        accept = serializers.BooleanField()
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    @extend_schema(
        operation_id="curation_candidate_decide",
        request=CandidateDecisionInputSerializer,
        responses={
            200: CandidateDecisionOutputSerializer,
            409: error("The candidate is not at a stage where it can be curated."),
        },
    )
    def post(self, request: Request, candidate_id: int) -> Response:
        data = self.CandidateDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        candidate = candidate_decide(candidate_id=candidate_id, curator=request.user, **data.validated_data)
        return Response(CandidateDecisionOutputSerializer(candidate).data)


class GraphSummaryApi(APIView):
    throttle_classes = [ReportThrottle]
    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="graph_summary", responses=GraphSummaryOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(GraphSummaryOutputSerializer(selectors.graph_summary_cached()).data)


class GraphNodeApi(APIView):
    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="graph_node", responses=GraphNodeOutputSerializer)
    def get(self, request: Request, node_id: int) -> Response:
        return Response(
            GraphNodeOutputSerializer(selectors.node_edges(get_object_or_404(selectors.graph_nodes(), pk=node_id))).data
        )


class ExportRunOutputSerializer(RunOutputSerializer):
    format = serializers.CharField()
    filters = serializers.JSONField()
    file_size = serializers.IntegerField()
    sha256 = serializers.CharField()
    counts = serializers.JSONField()
    file_removed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the retention clean-up deleted the file (the download then answers 410)."
    )
    file_expired = serializers.SerializerMethodField(help_text="The file was deleted by the retention clean-up.")

    def get_file_expired(self, run: ExportRun) -> bool:
        return run.file_removed_at is not None


class ExportFiltersSerializer(serializers.Serializer):
    relations = serializers.ListField(child=serializers.SlugField(max_length=64), required=False)
    categories = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    min_score = serializers.FloatField(required=False, min_value=0, max_value=1)
    approved_from = serializers.DateTimeField(required=False)
    approved_to = serializers.DateTimeField(required=False)
    include_usernames = serializers.BooleanField(
        required=False,
        help_text="Answer exports: write annotators' usernames instead of their pseudonyms (a keyed hash, the "
        "default). Exports of the graph, labels and the dataset ignore it.",
    )


class ExportCreateInputSerializer(serializers.Serializer):
    """What an export is asked for with, from the API or the exports page (``curation.views.exports``)."""

    format = serializers.ChoiceField(choices=ExportRun.Format.choices)
    filters = ExportFiltersSerializer(required=False, default=dict)


def export_filters_of(validated: dict[str, Any]) -> dict[str, Any]:
    """The validated filters as the JSON the run stores (dates as ISO 8601 text)."""
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in validated.get("filters", {}).items()
    }


class ExportRunListApi(GenericAPIView):
    """Exports (admins only): list, or queue one. ``format``: the accepted graph (jsonl, neo4j, ntriples,
    instructions, csv), annotation's raw data (answers, answers_csv, labels, labels_csv) or the Hugging Face
    dataset folder (hf_dataset, zipped)."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsAdmin]
    serializer_class = ExportRunOutputSerializer
    ExportCreateInputSerializer = ExportCreateInputSerializer

    @extend_schema(operation_id="exports_list", responses=ExportRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.export_run_list())
        return self.get_paginated_response(ExportRunOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="exports_create", request=ExportCreateInputSerializer, responses={202: ExportRunOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        data = self.ExportCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = export_run_create(
            format=data.validated_data["format"], filters=export_filters_of(data.validated_data), actor=request.user
        )
        return Response(ExportRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ExportRunDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="export_run", responses=ExportRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(ExportRunOutputSerializer(get_object_or_404(selectors.export_run_list(), pk=run_id)).data)


# Set explicitly: a type guessed from the file name would differ from one system's mime.types to the next.
EXPORT_MEDIA_TYPES: dict[str, str] = {
    ExportRun.Format.JSONL: "application/x-ndjson",
    ExportRun.Format.NEO4J: "application/zip",
    ExportRun.Format.NTRIPLES: "application/n-triples",
    ExportRun.Format.INSTRUCTIONS: "application/x-ndjson",
    ExportRun.Format.SPREADSHEET: "text/csv; charset=utf-8",
    ExportRun.Format.ANSWERS: "application/x-ndjson",
    ExportRun.Format.ANSWERS_CSV: "text/csv; charset=utf-8",
    ExportRun.Format.LABELS: "application/x-ndjson",
    ExportRun.Format.LABELS_CSV: "text/csv; charset=utf-8",
    ExportRun.Format.HF_DATASET: "application/zip",
}


def proxy_sends_files(request: Request) -> bool:
    """Whether the proxy that forwarded ``request`` says it acts on ``X-Accel-Redirect`` (the request header
    ``X-Sendfile-Type: X-Accel-Redirect``, nginx's ``proxy_set_header``, as Rack::Sendfile reads it). A request that
    did not come through such a proxy gets the file from the web process, not an empty body."""
    return request.META.get("HTTP_X_SENDFILE_TYPE", "").strip().lower() == "x-accel-redirect"


class ExportDownloadApi(APIView):
    """The export file, streamed to an admin (files are never served from a public URL)."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="export_download",
        responses={
            **{
                (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
                for media_type in sorted(set(EXPORT_MEDIA_TYPES.values()))
            },
            410: error("The file expired: the retention clean-up deleted it (EXPORT_FILE_RETENTION_DAYS)."),
        },
    )
    def get(self, request: Request, run_id: int) -> HttpResponseBase:
        run = get_object_or_404(selectors.export_run_list(), pk=run_id, status=ExportRun.Status.SUCCEEDED)
        if run.file_removed_at is not None:
            raise Gone(
                f"The export file expired: it was deleted on {run.file_removed_at:%Y-%m-%d} "
                f"(EXPORT_FILE_RETENTION_DAYS={settings.EXPORT_FILE_RETENTION_DAYS}). Run the export again."
            )
        path = export_folder() / run.file_name
        if not run.file_name or not path.is_file():
            raise Http404("The export file is gone.")
        media_type = EXPORT_MEDIA_TYPES.get(run.format, "application/octet-stream")
        if settings.EXPORT_DOWNLOAD_ACCEL_REDIRECT and proxy_sends_files(request):  # the proxy sends it (settings)
            accel = HttpResponse(content_type=media_type)
            accel["Content-Disposition"] = content_disposition_header(True, run.file_name)
            accel["X-Accel-Redirect"] = settings.EXPORT_DOWNLOAD_ACCEL_REDIRECT + quote(run.file_name)
            accel["X-Checksum-SHA256"] = run.sha256
            return accel
        response = FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=run.file_name,
            content_type=media_type,
        )
        response["X-Checksum-SHA256"] = run.sha256
        return response


class CurationEventsApi(APIView):
    """The curation audit log, newest first."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="curation_events", responses=CurationEventOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(CurationEventOutputSerializer(selectors.events(), many=True).data)
