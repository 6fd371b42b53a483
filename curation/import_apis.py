"""REST API of the imports from the peer tools (admins): upload a Label Studio export or an Argilla / Hugging Face
dataset with a mapping; the service checks every record (a bad file is a 400 naming the record and the field,
nothing created) and queues its ingest, whose run the client polls at ``/api/ingest-runs/<id>/``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsAdmin
from core.api.schema import error
from core.api.throttles import RunStartThrottle
from curation import peers
from curation.services import peer_import_create_from_uploads

_DEFAULTS = peers.PeerMapping()


class ImportErrorSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField(help_text="The record's 1-based position in the file.")
    field = serializers.CharField(help_text="The field as the peer tool names it, e.g. data.text.")
    message = serializers.CharField()


class ImportRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = ImportErrorSerializer(many=True, required=False)  # type: ignore[assignment]  # DRF stubs
    error_count = serializers.IntegerField(required=False)
    fields = serializers.DictField(  # type: ignore[assignment]  # DRF stubs
        child=serializers.JSONField(),
        required=False,
        help_text="The form's invalid fields, each with its messages, as other endpoints give them (no file was "
        'read): e.g. {"source": ["This field is required."]}.',
    )


class PeerImportOutputSerializer(serializers.Serializer):
    ingest_run = serializers.IntegerField(source="run.pk", help_text="The ingest run that imports the records.")
    run_url = serializers.SerializerMethodField(help_text="Where the ingest run is polled.")
    records = serializers.IntegerField()
    labelled = serializers.IntegerField(help_text="Records with a label (a majority of yes or no votes).")

    def get_run_url(self, created: Any) -> str:
        return f"/api/ingest-runs/{created.run.pk}/"


class PeerImportApi(APIView):
    """Import a peer tool's history as candidates with their labels (admins); the ingest runs on a worker."""

    throttle_classes = [RunStartThrottle]
    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False)
        source = serializers.ChoiceField(choices=list(peers.SOURCES))  # type: ignore[assignment]  # DRF stubs
        kind = serializers.ChoiceField(choices=["plain", "search_buy"], default=_DEFAULTS.kind)
        head_field = serializers.CharField(max_length=200, default=_DEFAULTS.head_field)
        query_field = serializers.CharField(max_length=200, default=_DEFAULTS.query_field)
        product_field = serializers.CharField(max_length=200, default=_DEFAULTS.product_field)
        product_title_field = serializers.CharField(max_length=200, default=_DEFAULTS.product_title_field)
        relation_field = serializers.CharField(max_length=200, default=_DEFAULTS.relation_field, allow_blank=True)
        relation = serializers.CharField(
            max_length=64, default="", allow_blank=True, help_text="The relation of records without one."
        )
        tail_field = serializers.CharField(max_length=200, default=_DEFAULTS.tail_field)
        label_field = serializers.CharField(max_length=200, default=_DEFAULTS.label_field)
        from_name = serializers.CharField(max_length=200, default="", allow_blank=True)
        question = serializers.SlugField(max_length=40, default=_DEFAULTS.question)
        yes = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
        no = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
        dry_run = serializers.BooleanField(default=False)

    @extend_schema(
        operation_id="imports_create",
        request=InputSerializer,
        responses={
            202: PeerImportOutputSerializer,
            400: OpenApiResponse(ImportRefusedSerializer, description="A bad file or mapping: nothing was created."),
            413: error("The upload is over INGEST_MAX_UPLOAD_BYTES."),
        },
    )
    def post(self, request: Request) -> Response:
        form: Any = request.data
        data: dict[str, Any] = {key: form.get(key) for key in form if key not in ("files", "yes", "no")}
        data["files"] = request.FILES.getlist("files")
        for key in ("yes", "no"):
            if form.getlist(key) if hasattr(form, "getlist") else form.get(key):
                data[key] = form.getlist(key) if hasattr(form, "getlist") else form.get(key)
        serializer = self.InputSerializer(data=data)
        if not serializer.is_valid():
            # The documented 400 of this operation is ImportRefused: the form's errors go under "fields".
            named = ", ".join(sorted(serializer.errors))
            refused = {"detail": f"The import request is invalid ({named}): nothing was created."}
            return Response({**refused, "fields": serializer.errors}, status=status.HTTP_400_BAD_REQUEST)
        values = dict(serializer.validated_data)
        uploads, source, dry_run = values.pop("files"), values.pop("source"), values.pop("dry_run")
        values["yes"] = tuple(values.get("yes") or _DEFAULTS.yes)
        values["no"] = tuple(values.get("no") or _DEFAULTS.no)
        created = peer_import_create_from_uploads(
            uploads=uploads, source=source, mapping=peers.PeerMapping(**values), actor=request.user, dry_run=dry_run
        )
        return Response(PeerImportOutputSerializer(created).data, status=status.HTTP_202_ACCEPTED)
