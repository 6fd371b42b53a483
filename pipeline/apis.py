"""The pipeline's API: the overview that the pipeline view shows, and the event log for consumers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsAdmin, IsCuratorOrAdmin
from core.api.runs import RunSummaryOutputSerializer
from core.selectors import event_list
from pipeline.selectors import pipeline_overview


class StageOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField(source="label")
    backlog = serializers.DictField(child=serializers.IntegerField(), help_text="Work waiting for this stage.")
    totals = serializers.DictField(child=serializers.IntegerField(), help_text="What this stage has produced.")
    runs_in_flight = serializers.IntegerField()
    last_run = RunSummaryOutputSerializer(allow_null=True)
    waiting = serializers.CharField(help_text="What the stage waits on, in a sentence; empty when idle.")


class HandoffOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The switch in PLAUSI_PIPELINE.")
    source = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.source
    target = serializers.CharField()
    trigger = serializers.CharField(help_text="The event that starts it, or how else it is started.")
    task = serializers.CharField()
    description = serializers.CharField()
    switchable = serializers.BooleanField()
    enabled = serializers.BooleanField()
    pending_messages = serializers.IntegerField(help_text="Its messages still waiting in the outbox.")


class TrainingBacklogOutputSerializer(serializers.Serializer):
    target = serializers.CharField()
    labels = serializers.IntegerField()
    new_labels = serializers.IntegerField()
    needed = serializers.IntegerField()
    in_flight = serializers.BooleanField()
    active_version = serializers.IntegerField(allow_null=True)


class OutboxOutputSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    oldest_pending_at = serializers.DateTimeField(allow_null=True)


class PipelineOutputSerializer(serializers.Serializer):
    stages = StageOutputSerializer(many=True)
    handoffs = HandoffOutputSerializer(many=True)
    training = TrainingBacklogOutputSerializer(many=True)
    outbox = OutboxOutputSerializer()
    switches = serializers.DictField(child=serializers.BooleanField())


class PipelineApi(APIView):
    """Each stage's backlog, its last run and what it waits on; every hand-off and its switch (curators, admins)."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="pipeline_retrieve", responses=PipelineOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(PipelineOutputSerializer(pipeline_overview(user=request.user)).data)


class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    payload = serializers.JSONField()
    created_at = serializers.DateTimeField()


class EventListApi(APIView):
    """Pipeline events in id order after ``after`` (admins): a consumer reads on from the last id it handled."""

    permission_classes = [IsAdmin]

    class FilterSerializer(serializers.Serializer):
        after = serializers.IntegerField(default=0, min_value=0)
        name = serializers.CharField(default="", allow_blank=True, max_length=64)
        limit = serializers.IntegerField(default=100, min_value=1, max_value=1000)

    @extend_schema(
        operation_id="events_list", parameters=[FilterSerializer], responses=EventOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = event_list(
            after_id=filters.validated_data["after"],
            name=filters.validated_data["name"],
            limit=filters.validated_data["limit"],
        )
        return Response(EventOutputSerializer(events, many=True).data)


class FunnelPointOutputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="A candidate status, in pipeline order.")
    count = serializers.IntegerField()


class ThroughputPointOutputSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A UTC day; the last 14, oldest first, days without answers included.")
    answers = serializers.IntegerField()


class LearningPointOutputSerializer(serializers.Serializer):
    labels = serializers.IntegerField(help_text="Labelled candidates the version trained on.")
    roc_auc = serializers.FloatField(help_text="Held-out ROC AUC.")
    version = serializers.IntegerField()


class LearningCurveOutputSerializer(serializers.Serializer):
    target = serializers.CharField(help_text="The question the classifier predicts.")
    points = LearningPointOutputSerializer(many=True)


class BatchPointOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF stubs: Field.label
    status = serializers.CharField()
    precision = serializers.FloatField(help_text="Audit precision (audited Yes / audited).")
    low = serializers.FloatField(help_text="Lower end of the 95% Wilson interval.")
    high = serializers.FloatField(help_text="Upper end of the 95% Wilson interval.")


class BatchChartOutputSerializer(serializers.Serializer):
    min_precision = serializers.FloatField(help_text="The bar a batch must clear (PLAUSI_CURATION MIN_PRECISION).")
    items = BatchPointOutputSerializer(many=True, help_text="The latest audited batches, oldest first.")


class DashboardChartsOutputSerializer(serializers.Serializer):
    funnel = FunnelPointOutputSerializer(many=True)
    throughput = ThroughputPointOutputSerializer(many=True)
    learning_curves = LearningCurveOutputSerializer(many=True)
    batches = BatchChartOutputSerializer()


class DashboardChartsApi(APIView):
    """The data of the dashboard's charts (curators, admins), which the browser draws: the candidate funnel,
    answers per day, each classifier target's learning curve, and the review batches' precision with 95% Wilson
    intervals against the bar. Cached for 30 s."""

    permission_classes = [IsCuratorOrAdmin]

    @extend_schema(operation_id="dashboard_charts_retrieve", responses=DashboardChartsOutputSerializer)
    def get(self, request: Request) -> Response:
        from pipeline.dashboard import dashboard_charts

        return Response(DashboardChartsOutputSerializer(dashboard_charts()).data)
