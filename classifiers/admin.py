"""Django admin for the classifiers: everything is read-only (services write); admins activate a version (with
force for one the promotion rule kept back) and request trainings through actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from classifiers.models import CandidateScore, ModelVersion, ScoringChunk, ScoringRun, TrainingRun
from classifiers.services import model_version_activate, training_run_request
from core.admin import ReadOnlyAdmin


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["id", "target", "kind", "label_count", "threshold", "is_active", "version_token", "created_at"]
    list_filter = ["target", "kind", "is_active"]
    actions = ["activate", "force_activate", "retrain_same_kind"]

    @admin.action(description="Activate (only versions the promotion rule accepted) and rescore the pool")
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset:
            if version.promotion.get("activate", True):
                model_version_activate(version_id=version.pk, user=request.user)
                self.message_user(request, f"{version} activated; scoring started.")
            else:
                self.message_user(request, f"{version} was kept back by the promotion rule.", messages.WARNING)

    @admin.action(description="Force-activate (recorded) and rescore the pool")
    def force_activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset:
            model_version_activate(version_id=version.pk, user=request.user, force=True)
            self.message_user(request, f"{version} activated by force; scoring started.")

    @admin.action(description="Train this target again with the same kind")
    def retrain_same_kind(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset:
            run = training_run_request(target=version.target, kind=version.kind, requested_by=request.user)
            self.message_user(request, f"training {run} queued" if run else f"{version.target}: already training")


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "target", "kind", "trigger", "status", "phase", "label_count", "created_at", "finished_at"]
    list_filter = ["status", "target", "kind", "trigger"]


class ScoringChunkInline(admin.TabularInline):
    model = ScoringChunk
    fields = ("start_id", "end_id", "status", "attempts", "scored", "seconds", "claimed_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "status", "chunks_done", "chunks_total", "progress_done", "finished_at"]
    list_filter = ["status"]
    inlines = [ScoringChunkInline]


@admin.register(CandidateScore)
class CandidateScoreAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "target", "score", "model_version", "version_token", "updated_at"]
    list_filter = ["target"]
    raw_id_fields = ["candidate", "model_version"]


@admin.register(ScoringChunk)
class ScoringChunkAdmin(ReadOnlyAdmin):
    list_display = ["run", "start_id", "end_id", "status", "attempts", "scored", "seconds", "claimed_at"]
    list_filter = ["status"]
