"""REST API of generation (admins): start a run over selected behaviour pairs, follow its progress."""

from __future__ import annotations

import os
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsAdmin
from core.api.runs import RunOutputSerializer
from core.api.throttles import RunStartThrottle
from core.model_paths import model_folder_problem, model_root
from generation.models import GenerationRun
from generation.selectors import generation_run_list
from generation.services import generation_run_create, select_pairs


class GenerationRunOutputSerializer(RunOutputSerializer):
    backend = serializers.CharField()
    model_name = serializers.CharField()
    sampling = serializers.JSONField()
    selection = serializers.JSONField()
    relations = serializers.JSONField()
    counts = serializers.JSONField()
    ingest_run = serializers.IntegerField(source="ingest_run_id", allow_null=True)


class GenerationRunListApi(GenericAPIView):
    """Generation runs; POST selects behaviour pairs and queues a run (a worker prompts the model)."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsAdmin]
    serializer_class = GenerationRunOutputSerializer

    class GenerationRunCreateInputSerializer(serializers.Serializer):
        backend = serializers.ChoiceField(choices=GenerationRun.Backend.choices)
        relations = serializers.ListField(child=serializers.SlugField(max_length=64), min_length=1, max_length=15)
        pairs = serializers.IntegerField(
            min_value=1, max_value=1_000_000, help_text="How many pairs, most observed first."
        )
        categories = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
        min_specificity = serializers.FloatField(required=False, min_value=0, max_value=1)
        max_specificity = serializers.FloatField(required=False, min_value=0, max_value=1)
        kinds = serializers.ListField(child=serializers.ChoiceField(choices=["search_buy", "co_buy"]), required=False)
        model = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
        temperature = serializers.FloatField(required=False, min_value=0, max_value=2, default=0.7)
        max_tokens = serializers.IntegerField(required=False, min_value=8, max_value=2048, default=160)
        items = serializers.IntegerField(required=False, min_value=1, max_value=20, default=5)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            """For the local backend, ``model`` is a folder that a worker loads: only a safetensors folder
            under ``PLAUSI_MODEL_ROOT`` (``core.model_paths``), stored as its real path. For the HTTP backend
            it is a model name sent to the endpoint."""
            model = attrs.get("model") or ""
            if attrs["backend"] == GenerationRun.Backend.LOCAL and model:
                if problem := model_folder_problem(model):
                    raise serializers.ValidationError({"model": [f"{model!r} {problem}."]})
                real = os.path.realpath(model_root() / model)
                if len(real) > GenerationRun._meta.get_field("model_name").max_length:  # type: ignore[operator]
                    raise serializers.ValidationError({"model": ["The model folder's real path is too long."]})
                attrs = {**attrs, "model": real}
            return attrs

    @extend_schema(operation_id="generation_runs_list", responses=GenerationRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(generation_run_list())
        return self.get_paginated_response(GenerationRunOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="generation_runs_create",
        request=GenerationRunCreateInputSerializer,
        responses={202: GenerationRunOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.GenerationRunCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        selection = {
            "count": values["pairs"],
            "categories": values.get("categories"),
            "min_specificity": values.get("min_specificity"),
            "max_specificity": values.get("max_specificity"),
            "kinds": values.get("kinds"),
        }
        run = generation_run_create(
            backend=values["backend"],
            relations=values["relations"],
            pair_ids=select_pairs(**selection),
            selection=selection,
            model_name=values["model"],
            sampling={
                "temperature": values["temperature"],
                "max_tokens": values["max_tokens"],
                "items": values["items"],
            },
            actor=request.user,
        )
        return Response(GenerationRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class GenerationRunDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="generation_run", responses=GenerationRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(GenerationRunOutputSerializer(get_object_or_404(generation_run_list(), pk=run_id)).data)
