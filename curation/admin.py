"""Django admin for curation: read-only views of batches, the audit log, the graph and exports."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from curation.models import (
    AcceptedEdge,
    BatchMember,
    BatchStratum,
    CurationEvent,
    ExportRun,
    GraphNode,
    ReviewBatch,
)


@admin.register(ReviewBatch)
class ReviewBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "relation", "category", "size", "audit_size", "audit_yes", "audit_no", "decided_by"]
    list_filter = ["status", "relation"]


@admin.register(BatchStratum)
class BatchStratumAdmin(ReadOnlyAdmin):
    list_display = ["id", "batch", "label", "size", "audit_size", "audit_yes", "audit_no", "excluded"]
    list_filter = ["excluded", "relation"]
    raw_id_fields = ["batch"]


@admin.register(BatchMember)
class BatchMemberAdmin(ReadOnlyAdmin):
    list_display = ["batch", "stratum", "candidate", "score", "in_audit", "audit_value", "is_open"]
    list_filter = ["in_audit", "is_open"]
    raw_id_fields = ["batch", "stratum", "candidate"]


@admin.register(CurationEvent)
class CurationEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "batch", "candidate"]
    list_filter = ["action"]


@admin.register(GraphNode)
class GraphNodeAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "label"]
    list_filter = ["kind"]
    search_fields = ["label", "key"]


@admin.register(AcceptedEdge)
class AcceptedEdgeAdmin(ReadOnlyAdmin):
    list_display = ["id", "head", "relation", "tail", "category", "score", "batch", "curator", "accepted_at"]
    list_filter = ["relation"]
    raw_id_fields = ["candidate", "head", "tail", "product", "batch"]


@admin.register(ExportRun)
class ExportRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "format", "status", "progress_done", "file_size", "sha256", "created_by", "finished_at"]
    list_filter = ["status", "format"]
