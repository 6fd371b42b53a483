"""Webhook reads: endpoints and the delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def webhook_delivery_list(
    *, status: str = "", endpoint_id: int | None = None, event_type: str = ""
) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first, optionally by status, endpoint and event type (indexed by the first two)."""
    deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("-id")
    if status:
        deliveries = deliveries.filter(status=status)
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    return deliveries
