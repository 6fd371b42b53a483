"""The webhooks API (admins): list and register endpoints, send a test message, read the delivery log, replay.

An endpoint's secret appears in the response that creates it only (admins can read it in the Django admin)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import IsAdmin
from core.api.schema import error
from webhooks.events import EVENT_TYPES, TEST_EVENT_TYPE
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.selectors import webhook_delivery_list, webhook_endpoint_list
from webhooks.services import delivery_replay, webhook_endpoint_create, webhook_test_send


class EndpointOutputSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.CharField(), help_text="The public event types it receives; empty: all of them."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "is_active", "created_at"]


class EndpointCreatedOutputSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_ + base64), shown in this response only; admins read it in the admin."
    )

    class Meta(EndpointOutputSerializer.Meta):
        fields = [*EndpointOutputSerializer.Meta.fields, "secret"]


class EndpointListApi(GenericAPIView):
    """Webhook endpoints (GET), and a new one (POST): an http(s) URL and the event types it wants (docs/webhooks.md;
    none: every type). Redirects are never followed, so give the final URL."""

    permission_classes = [IsAdmin]
    serializer_class = EndpointOutputSerializer

    class EndpointCreateInputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000, help_text="http:// or https://, no credentials.")
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=list(EVENT_TYPES)), required=False, default=list, max_length=50
        )
        description = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
        is_active = serializers.BooleanField(required=False, default=True)

    @extend_schema(operation_id="webhook_endpoints_list", responses=EndpointOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(webhook_endpoint_list())
        return self.get_paginated_response(EndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=EndpointCreateInputSerializer,
        responses={201: EndpointCreatedOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.EndpointCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(**serializer.validated_data, actor=request.user)
        endpoint.refresh_from_db(fields=["created_at"])
        return Response(EndpointCreatedOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class DeliveryOutputSerializer(serializers.ModelSerializer):
    endpoint_url = serializers.CharField(source="endpoint.url")
    payload = serializers.JSONField(help_text="The body sent: {type, timestamp, data}.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "endpoint_url",
            "event_id",
            "event_type",
            "message_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "last_response",
            "replay_of",
            "created_at",
            "payload",
        ]


class DeliveryListApi(GenericAPIView):
    """The delivery log, newest first; ``?status=``, ``?endpoint=`` and ``?event_type=`` filter."""

    permission_classes = [IsAdmin]
    serializer_class = DeliveryOutputSerializer

    class DeliveryFilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
        endpoint = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
        event_type = serializers.ChoiceField(choices=[*EVENT_TYPES, TEST_EVENT_TYPE], required=False)

    @extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=[DeliveryFilterSerializer],
        responses=DeliveryOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.DeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data: dict[str, Any] = filters.validated_data
        deliveries = webhook_delivery_list(
            status=data.get("status", ""), endpoint_id=data.get("endpoint"), event_type=data.get("event_type", "")
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class DeliveryReplayApi(APIView):
    """Send a finished (succeeded or dead) delivery again: a new delivery with the same body and ``webhook-id``."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="webhook_delivery_replay",
        request=None,
        responses={201: DeliveryOutputSerializer, 409: error("The delivery is still pending or being retried.")},
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = delivery_replay(delivery_id=delivery_id)
        delivery.refresh_from_db()
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_201_CREATED)


class EndpointTestApi(APIView):
    """Queue a ``webhook.test`` message to an endpoint (even an inactive one); its delivery is returned."""

    permission_classes = [IsAdmin]

    @extend_schema(operation_id="webhook_endpoint_test", request=None, responses={201: DeliveryOutputSerializer})
    def post(self, request: Request, endpoint_id: int) -> Response:
        delivery = webhook_test_send(endpoint_id=endpoint_id, actor=request.user)
        delivery.refresh_from_db()
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_201_CREATED)
