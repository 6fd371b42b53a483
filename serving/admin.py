"""Read-only views of the feature store's snapshots and the asynchronous cache (every write is a service's)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from serving.models import GeneratedKnowledge, ServingEntry, ServingSnapshot


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(ServingSnapshot)
class ServingSnapshotAdmin(_ReadOnly):
    list_display = ("id", "kind", "event", "keys_changed", "keys_removed", "edges", "created_at")
    list_filter = ("kind",)


@admin.register(GeneratedKnowledge)
class GeneratedKnowledgeAdmin(_ReadOnly):
    list_display = ("key", "pending", "claim", "model", "generated_at", "expires_at", "error")
    list_filter = ("pending", "model")
    search_fields = ("key",)
    exclude = ("body",)  # model text: shown escaped through the API, never as markup here


@admin.register(ServingEntry)
class ServingEntryAdmin(_ReadOnly):
    list_display = ("key", "valid_from", "valid_to", "edge_count")
    search_fields = ("key",)
    exclude = ("body", "edges")
