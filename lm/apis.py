"""REST API of COSMO-LM: training runs (admins start one; the pages poll it), the registry (versions with their
metrics and the untuned base's), activation. No model runs in a request: a training is a queued run on the ``gpu``
queue, and activation only switches which version is live (and emits ``lm.activated``)."""

from __future__ import annotations

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
from core.api.validators import ModelFolderField
from lm import selectors
from lm.services import lm_training_run_request, lm_version_activate


class LMTrainingRunOutputSerializer(RunOutputSerializer):
    base_model = serializers.CharField()
    params = serializers.JSONField()
    selection = serializers.JSONField(source="data", help_text="Export filters, held-out share and split seed.")
    activate = serializers.BooleanField()
    counts = serializers.JSONField(help_text="Examples per task on each side of the split.")
    version = serializers.SerializerMethodField(help_text="The version it registered (once it succeeded).")

    def get_version(self, run: Any) -> int | None:
        version = getattr(run, "version", None) if run.status == "succeeded" else None
        return version.pk if version is not None else None


class LMVersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    base_model = serializers.CharField()
    params = serializers.JSONField()
    data_snapshot = serializers.JSONField()
    metrics = serializers.JSONField(help_text="Held-out evaluation: judgement (per task), generation, summary.")
    base_metrics = serializers.JSONField(help_text="The untuned base on the same held-out split.")
    training = serializers.JSONField()
    artifact = serializers.CharField()
    training_run = serializers.IntegerField(source="training_run_id", allow_null=True)
    is_active = serializers.BooleanField()
    activated_at = serializers.DateTimeField(allow_null=True)
    promotion = serializers.JSONField()
    created_at = serializers.DateTimeField()


class LMParamsSerializer(serializers.Serializer):
    """COSMO-LM's hyper-parameters (``classifiers.ml.lm.model.LMParams``), typed and bounded."""

    lora = serializers.BooleanField(required=False)
    lora_r = serializers.IntegerField(required=False, min_value=1, max_value=256)
    lora_alpha = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    lora_dropout = serializers.FloatField(required=False, min_value=0.0, max_value=0.9)
    target_modules = serializers.RegexField(r"^(?:all-linear|[A-Za-z0-9_]+(?:,[A-Za-z0-9_]+)*)$", required=False)
    epochs = serializers.FloatField(required=False, min_value=0.01, max_value=100)
    max_steps = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    learning_rate = serializers.FloatField(required=False, min_value=1e-7, max_value=1e-1)
    weight_decay = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    warmup_ratio = serializers.FloatField(required=False, min_value=0.0, max_value=0.5)
    max_length = serializers.IntegerField(required=False, min_value=16, max_value=4096)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    max_tails = serializers.IntegerField(required=False, min_value=1, max_value=20)
    eval_batch_size = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    generation_max_new_tokens = serializers.IntegerField(required=False, min_value=1, max_value=512)
    generation_examples = serializers.IntegerField(required=False, min_value=0, max_value=100_000)


class LMTrainingRunListApi(GenericAPIView):
    """COSMO-LM trainings, newest first (admins); POST starts one on the ``gpu`` queue and answers 202 with the
    run to poll (``GET /api/lm/training-runs/<id>/``)."""

    permission_classes = [IsAdmin]
    throttle_classes = [RunStartThrottle]
    serializer_class = LMTrainingRunOutputSerializer

    class LMTrainingRequestInputSerializer(serializers.Serializer):
        base_model = ModelFolderField(required=False, help_text="A safetensors folder under PLAUSI_MODEL_ROOT.")
        params = LMParamsSerializer(required=False)
        held_out_share = serializers.FloatField(required=False, min_value=0.01, max_value=0.9)
        seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31 - 1)
        relations = serializers.ListField(
            child=serializers.SlugField(max_length=64), required=False, max_length=50, help_text="Only these edges."
        )
        activate = serializers.BooleanField(default=True)

    @extend_schema(operation_id="lm_training_runs_list", responses=LMTrainingRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.lm_training_run_list())
        return self.get_paginated_response(LMTrainingRunOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="lm_training_request",
        request=LMTrainingRequestInputSerializer,
        responses={202: LMTrainingRunOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.LMTrainingRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        run = lm_training_run_request(
            base_model=values.get("base_model", ""),
            params=dict(values.get("params") or {}),
            held_out_share=values.get("held_out_share"),
            seed=values["seed"],
            filters={"relations": values["relations"]} if values.get("relations") else {},
            activate=values["activate"],
            requested_by=request.user,
        )
        return Response(LMTrainingRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class LMTrainingRunDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="lm_training_run", responses=LMTrainingRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = get_object_or_404(selectors.lm_training_run_list(), pk=run_id)
        return Response(LMTrainingRunOutputSerializer(run).data)


class LMVersionListApi(GenericAPIView):
    """COSMO-LM versions, newest first, with their held-out metrics and the untuned base's (admins)."""

    permission_classes = [IsAdmin]
    serializer_class = LMVersionOutputSerializer

    @extend_schema(operation_id="lm_versions_list", responses=LMVersionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.lm_version_list())
        return self.get_paginated_response(LMVersionOutputSerializer(page, many=True).data)


class LMVersionDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="lm_version", responses=LMVersionOutputSerializer)
    def get(self, request: Request, version_id: int) -> Response:
        return Response(LMVersionOutputSerializer(get_object_or_404(selectors.lm_version_list(), pk=version_id)).data)


class LMVersionActivateApi(APIView):
    """Make a version the active COSMO-LM (admins): a roll-back, or one the promotion rule kept back. Emits
    ``lm.activated`` (the serving cache refreshes on it)."""

    permission_classes = [IsAdmin]
    throttle_classes = [RunStartThrottle]

    @extend_schema(operation_id="lm_version_activate", request=None, responses=LMVersionOutputSerializer)
    def post(self, request: Request, version_id: int) -> Response:
        version = get_object_or_404(selectors.lm_version_list(), pk=version_id)
        return Response(LMVersionOutputSerializer(lm_version_activate(version_id=version.pk, user=request.user)).data)
