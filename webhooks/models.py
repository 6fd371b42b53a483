"""Webhook endpoints (admin-managed subscriptions) and their deliveries (the delivery log)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from webhooks.protocol import secret_generate, url_problem


def validate_endpoint_url(value: str) -> None:
    problem = url_problem(value)
    if problem:
        raise ValidationError(problem)


class WebhookEndpoint(models.Model):
    """A receiver of pipeline events. ``event_types`` lists the public event types it wants (docs/webhooks.md);
    an empty list means every type. The secret signs every request (Standard Webhooks); admins read it in the
    Django admin, the API shows it only when it creates the endpoint. A deactivated endpoint keeps its waiting
    deliveries, which resume when it is activated again."""

    url = models.CharField(max_length=2000, validators=[validate_endpoint_url])
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True, help_text="Public event types; empty: all of them.")
    secret = models.CharField(max_length=100, default=secret_generate, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One message to one endpoint: an event (or a test message), its body, and where its delivery stands.

    ``pending``: not tried yet; ``failed``: the last attempt failed, the next one is due at ``next_attempt_at``;
    ``succeeded``: a 2xx answer; ``dead``: the retry schedule (or the maximum age) is spent. A worker claims a due
    delivery by moving ``next_attempt_at`` past its attempt (and counting the attempt), so a worker that dies
    mid-attempt leaves it due again later. A replay is a new row with the same ``message_id`` (``replay_of``)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        FAILED = "failed"
        SUCCEEDED = "succeeded"
        DEAD = "dead"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField(null=True, blank=True, help_text="The pipeline event; empty for a test.")
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, help_text="The webhook-id header: stable across retries.")
    payload = models.JSONField(help_text="The body sent: type, timestamp and data.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_default=Now())
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_response = models.CharField(max_length=500, blank=True, help_text="The start of the last response body.")
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "message_id"], condition=Q(replay_of__isnull=True), name="webhook_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status__in=["pending", "failed"])
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
            models.Index(fields=["status", "-id"], name="webhook_delivery_status"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} -> {self.endpoint_id} ({self.status})"
