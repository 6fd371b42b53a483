"""Webhooks in the Django admin: endpoints (add, edit, send a test event, rotate the secret) and the delivery log
(filter by status, endpoint and event type; replay). The secret is shown to admins on the endpoint's page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from core.errors import ApplicationError
from webhooks.events import EVENT_TYPES
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_replay, webhook_endpoint_rotate_secret, webhook_test_send


class EndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {text}") for name, text in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["id", "url", "description", "event_types", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["secret", "created_by", "created_at"]
    actions = ["send_test_event", "rotate_secret"]

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.action(description="Send a test event")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_test_send(endpoint_id=endpoint.pk, actor=request.user)
        self.message_user(request, f"Test event queued for {queryset.count()} endpoint(s); see the deliveries.")

    @admin.action(description="Rotate the signing secret")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk)
        self.message_user(request, f"New secret for {queryset.count()} endpoint(s): update the receivers.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: one row per message and endpoint (replays are rows of their own)."""

    list_display = [
        "id",
        "endpoint",
        "event_type",
        "message_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "endpoint", "event_type"]
    search_fields = ["message_id"]
    list_select_related = ["endpoint"]
    actions = ["replay"]

    @admin.action(description="Replay (send again, same webhook-id)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replayed = 0
        for delivery in queryset:
            try:
                delivery_replay(delivery_id=delivery.pk)
                replayed += 1
            except ApplicationError as refused:
                self.message_user(request, refused.message, level=messages.WARNING)
        self.message_user(request, f"{replayed} delivery(ies) queued again.")
