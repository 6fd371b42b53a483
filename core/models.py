"""The ground floor's tables: the durable outbox of task messages, pipeline events and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class OutboxMessage(models.Model):
    """A task to send to the broker, written in the same transaction as the work it starts: if the broker is
    down, the message waits here (the request still succeeds) and the relay sends it once the broker is back.
    Tasks are idempotent (they claim their run), so a message sent twice does the work once."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    queue = models.CharField(max_length=100, blank=True, help_text="Empty: the task's route decides.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["id"], name="outbox_pending", condition=Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.task}{self.args} ({'sent' if self.sent_at else 'pending'})"


class PipelineEvent(models.Model):
    """Something a stage finished (an ingest, a filter run, a scoring run, a batch approval), recorded in the same
    transaction as the work itself. Hand-offs and subscribers get an outbox message naming the event's id; later
    consumers (exports, webhooks, a serving cache) can also read the events in id order. Append-only."""

    name = models.CharField(max_length=64, help_text="What happened, e.g. 'ingest.succeeded'.")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["name", "id"], name="event_name_id")]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class ApiToken(models.Model):
    """A named API key with an expiry, for scripts and CI (``Authorization: Token <key>``).

    Only the key's SHA-256 digest is stored: the key is shown once, when it is created, and nobody (admins
    included) can read it back. A user holds several; changing the password or deactivating the account revokes
    them all (core/tokens.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, in hex.")
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell keys apart.")
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="api_token_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class TaskOutcome(models.Model):
    """How many times each Celery task ended in each way (succeeded, failed, retried), and the seconds it took:
    counted by the worker that ran it (core/task_outcomes.py) and exported at ``/metrics``. One row per task and
    outcome, incremented in place: counters that survive worker restarts and hold every worker's count."""

    task = models.CharField(max_length=200)
    outcome = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0.0, help_text="The total time the task ran with this outcome.")
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "outcome"], name="one_task_outcome_row")]

    def __str__(self) -> str:
        return f"{self.task} {self.outcome}: {self.count}"
