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
