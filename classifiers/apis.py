"""REST API of the classifiers: the registry, training and scoring runs (polled by the UI), the learning curve.

Curators and admins read; admins request trainings and activate versions (no model inference happens in a
request: a training is a queued run, an activation starts a queued scoring run).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classifiers import selectors
from classifiers.ml.features import SCHEMES
from classifiers.ml.models import ENCODER_DESIGNS
from classifiers.models import ModelKind, ScoringRun
from classifiers.services import model_version_activate, training_run_request
from classifiers.services.common import default_kind
from core.api.permissions import IsAdmin, IsCuratorOrAdmin
from core.api.runs import RunOutputSerializer
from core.api.schema import error
from core.api.throttles import ReportThrottle, RunStartThrottle
from core.api.validators import ModelFolderField, no_null_characters
from core.errors import Conflict


class ModelVersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.CharField()
    kind = serializers.CharField()
    params = serializers.JSONField()
    label_count = serializers.IntegerField()
    metrics = serializers.JSONField()
    threshold = serializers.FloatField(allow_null=True)
    is_active = serializers.BooleanField()
    version_token = serializers.IntegerField(allow_null=True)
    promotion = serializers.JSONField()
    training_run = serializers.IntegerField(source="training_run_id", allow_null=True)
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)


class TrainingRunOutputSerializer(RunOutputSerializer):
    target = serializers.CharField()
    kind = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField(), help_text="Kinds compared on the same folds.")
    params = serializers.JSONField()
    trigger = serializers.CharField()
    label_count = serializers.IntegerField()


class ScoringRunOutputSerializer(RunOutputSerializer):
    model_version = serializers.IntegerField(source="model_version_id")
    version_token = serializers.IntegerField()
    phase = serializers.SerializerMethodField()  # type: ignore[assignment]  # chunks done of total
    chunks_done = serializers.IntegerField()
    chunks_total = serializers.IntegerField()

    def get_phase(self, run: ScoringRun) -> str:
        return f"{run.chunks_done}/{run.chunks_total} chunks"


class ModelVersionListApi(GenericAPIView):
    """Model versions, newest first; ``?target=`` filters."""

    permission_classes = [IsCuratorOrAdmin]
    serializer_class = ModelVersionOutputSerializer

    class FilterSerializer(serializers.Serializer):
        target = serializers.ChoiceField(choices=[], required=False)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fields["target"].choices = settings.PLAUSI_CLASSIFIERS["TARGETS"]  # type: ignore[attr-defined]

    @extend_schema(
        operation_id="classifier_versions_list",
        parameters=[FilterSerializer],
        responses=ModelVersionOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.model_version_list(target=filters.validated_data.get("target")))
        return self.get_paginated_response(ModelVersionOutputSerializer(page, many=True).data)


class ModelVersionActivateApi(APIView):
    """Activate a version (admins): it becomes the active one of its target and the pool is rescored. Needed
    for a version the promotion rule kept back (``force``, recorded), or to roll back."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsAdmin]

    class ActivateInputSerializer(serializers.Serializer):
        force = serializers.BooleanField(default=False)

    @extend_schema(
        operation_id="classifier_version_activate",
        request=ActivateInputSerializer,
        responses={
            202: ScoringRunOutputSerializer,
            409: error("The promotion rule kept this version back; send force=true to activate it anyway."),
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        version = get_object_or_404(selectors.model_version_list(), pk=version_id)
        data = self.ActivateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not version.promotion.get("activate", True) and not data.validated_data["force"]:
            raise Conflict("The promotion rule kept this version back; send force=true to activate it anyway.")
        run = model_version_activate(version_id=version.pk, user=request.user, force=data.validated_data["force"])
        return Response(ScoringRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TfidfParamsSerializer(serializers.Serializer):
    """The parameters of ``tfidf_lr``, typed and bounded."""

    c = serializers.FloatField(required=False, min_value=1e-4, max_value=1e4)
    features = serializers.ChoiceField(choices=list(SCHEMES), required=False)


class EncoderParamsSerializer(serializers.Serializer):
    """The parameters of ``encoder_lr``: the encoder is a safetensors folder under ``PLAUSI_MODEL_ROOT``."""

    encoder_path = ModelFolderField(required=False)
    c = serializers.FloatField(required=False, min_value=1e-4, max_value=1e4)
    relations = serializers.ListField(child=serializers.SlugField(max_length=64), required=False, max_length=15)
    joint = serializers.BooleanField(required=False)
    design = serializers.ChoiceField(choices=list(ENCODER_DESIGNS), required=False)
    rank = serializers.IntegerField(required=False, min_value=0, max_value=64)


class CrossEncoderParamsSerializer(serializers.Serializer):
    """The parameters of ``cross_encoder``: the base model is a safetensors folder under ``PLAUSI_MODEL_ROOT``;
    sizes and rates within what one training on one GPU can use."""

    model_path = ModelFolderField(required=False)
    max_length = serializers.IntegerField(required=False, min_value=8, max_value=512)
    epochs = serializers.IntegerField(required=False, min_value=1, max_value=20)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=512)
    learning_rate = serializers.FloatField(required=False, min_value=1e-7, max_value=1e-2)
    device = serializers.RegexField(r"^(?:cpu|cuda(?::[0-9]{1,2})?)$", required=False, max_length=8)
    score_batch_size = serializers.IntegerField(required=False, min_value=1, max_value=8192)
    tokenize_threads = serializers.IntegerField(required=False, min_value=1, max_value=64)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class LMJudgeParamsSerializer(serializers.Serializer):
    """The parameters of ``lm_judge``: the base is a safetensors folder under ``PLAUSI_MODEL_ROOT`` (GGUF bases
    are the operator's choice: ``LM_BASE_MODEL``); ``question`` defaults to the target's own."""

    base_model = ModelFolderField(required=False)
    question = serializers.ChoiceField(choices=["plausible", "typical"], required=False)
    lora = serializers.BooleanField(required=False)
    lora_r = serializers.IntegerField(required=False, min_value=1, max_value=256)
    epochs = serializers.FloatField(required=False, min_value=0.01, max_value=50)
    max_steps = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=512)
    learning_rate = serializers.FloatField(required=False, min_value=1e-7, max_value=1e-1)
    max_length = serializers.IntegerField(required=False, min_value=16, max_value=2048)
    eval_batch_size = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    device = serializers.RegexField(r"^(?:cpu|cuda(?::[0-9]{1,2})?)$", required=False, max_length=8)


class MeanParamsSerializer(serializers.Serializer):
    """The parameters of ``mean_lr``: its two members', each checked by the member kind's serializer."""

    tfidf = TfidfParamsSerializer(required=False)
    encoder = EncoderParamsSerializer(required=False)


TRAINING_PARAMS: dict[str, type[serializers.Serializer]] = {
    ModelKind.TFIDF_LR: TfidfParamsSerializer,
    ModelKind.ENCODER_LR: EncoderParamsSerializer,
    ModelKind.CROSS_ENCODER: CrossEncoderParamsSerializer,
    ModelKind.LM_JUDGE: LMJudgeParamsSerializer,
    ModelKind.MEAN_LR: MeanParamsSerializer,
}


class TrainingRunListApi(GenericAPIView):
    """Training runs (curators, admins); request one on demand (admins, POST)."""

    throttle_classes = [RunStartThrottle]

    permission_classes = [IsCuratorOrAdmin]
    serializer_class = TrainingRunOutputSerializer

    class TrainingRequestInputSerializer(serializers.Serializer):
        target = serializers.ChoiceField(choices=[])
        kind = serializers.ChoiceField(
            choices=ModelKind.choices,
            required=False,
            help_text="One kind; left out, every enabled kind (CLASSIFIER_KINDS) is compared on the same folds.",
        )
        params = serializers.DictField(required=False, default=dict, validators=[no_null_characters])
        force = serializers.BooleanField(default=False)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fields["target"].choices = settings.PLAUSI_CLASSIFIERS["TARGETS"]  # type: ignore[attr-defined]

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            """``params`` checked by the serializer of the kind (``TRAINING_PARAMS``): each one typed and
            bounded, model paths only safetensors folders under the model root. Names the kind does not take
            are left to ``training_run_request``, which refuses them (a 400 whose ``detail`` names them)."""
            kind = attrs.get("kind") or default_kind()
            params = attrs.get("params") or {}
            checker = TRAINING_PARAMS[kind](data=params)
            if not checker.is_valid():
                raise serializers.ValidationError({"params": checker.errors})
            unknown = {name: value for name, value in params.items() if name not in checker.fields}
            return {**attrs, "params": {**unknown, **checker.validated_data}}

    def get_permissions(self) -> Any:
        return [IsAdmin()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(operation_id="classifier_training_runs_list", responses=TrainingRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.training_run_list())
        return self.get_paginated_response(TrainingRunOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="classifier_training_request",
        request=TrainingRequestInputSerializer,
        responses={
            202: TrainingRunOutputSerializer,
            409: inline_serializer("TrainingInFlight", {"detail": serializers.CharField()}),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.TrainingRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = training_run_request(requested_by=request.user, **data.validated_data)
        if run is None:
            raise Conflict("A training of this target is already queued or running.")
        return Response(TrainingRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetailApi(APIView):
    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="classifier_training_run", responses=TrainingRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(TrainingRunOutputSerializer(get_object_or_404(selectors.training_run_list(), pk=run_id)).data)


class ScoringRunListApi(GenericAPIView):
    permission_classes = [IsCuratorOrAdmin]
    serializer_class = ScoringRunOutputSerializer

    @extend_schema(operation_id="classifier_scoring_runs_list", responses=ScoringRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.scoring_run_list())
        return self.get_paginated_response(ScoringRunOutputSerializer(page, many=True).data)


class ScoringRunDetailApi(APIView):
    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="classifier_scoring_run", responses=ScoringRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(ScoringRunOutputSerializer(get_object_or_404(selectors.scoring_run_list(), pk=run_id)).data)


class LearningCurveApi(APIView):
    """Held-out metrics against label count, across the versions of each target, oldest first, with the 95%
    intervals of the ROC AUC and the threshold (``roc_auc_low``/``high``, ``threshold_low``/``high``) and why a
    version accepts nothing (``threshold_note``)."""

    throttle_classes = [ReportThrottle]

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(
        operation_id="classifier_learning_curve",
        responses=inline_serializer(
            "LearningCurve",
            {"targets": serializers.DictField(child=serializers.ListField(child=serializers.DictField()))},
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(
            {"targets": {target: selectors.learning_curve(target) for target in settings.PLAUSI_CLASSIFIERS["TARGETS"]}}
        )
