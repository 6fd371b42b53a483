"""The admin's shared pieces (a read-only base for records that only services write) and the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.models import ApiToken, OutboxMessage, PipelineEvent, TaskOutcome


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable and searchable; created and changed only by services (ingest, filters, curation)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TaskOutcome)
class TaskOutcomeAdmin(ReadOnlyAdmin):
    """How Celery tasks ended, per task and outcome (counted by the workers; exported at /metrics)."""

    list_display = ["task", "outcome", "count", "seconds", "updated_at"]
    list_filter = ["outcome"]
    search_fields = ["task"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Task messages waiting for the broker (written while it was down) and the ones already published."""

    list_display = ["id", "task", "args", "queue", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["task"]


@admin.register(PipelineEvent)
class PipelineEventAdmin(ReadOnlyAdmin):
    """What the stages finished, in order: the hand-offs and subscribers each got a message naming the event."""

    list_display = ["id", "name", "payload", "created_at"]
    list_filter = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Users' API tokens: names, key prefixes and expiries only (the keys themselves are not stored).
    An admin can revoke (delete) one; creating is the user's own (the API or the tokens page)."""

    list_display = ["id", "user", "name", "prefix", "created_at", "expires_at"]
    search_fields = ["user__username", "name", "prefix"]
    exclude = ["digest"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)
