"""Django admin for annotation: questions and wordings are editable; queue, assignments, answers and labels are
read-only (services change them)."""

from __future__ import annotations

from django.contrib import admin

from annotation.models import (
    AnnotatorProfile,
    Answer,
    Assignment,
    ConsolidatedLabel,
    NewLabelCount,
    Question,
    QuestionWording,
    QueueItem,
)
from core.admin import ReadOnlyAdmin


class QuestionWordingInline(admin.TabularInline):
    model = QuestionWording
    extra = 0
    autocomplete_fields = ["relation"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["order", "slug", "label", "template", "is_active"]
    list_editable = ["is_active"]
    inlines = [QuestionWordingInline]


@admin.register(QueueItem)
class QueueItemAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "state", "priority", "wanted", "in_flight", "is_gold", "updated_at"]
    list_filter = ["state", "is_gold"]
    search_fields = ["=candidate__id"]
    show_full_result_count = False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "candidate", "annotator", "status", "lease_expires_at", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["=candidate__id", "annotator__username"]
    show_full_result_count = False


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "question", "annotator", "value", "seconds", "created_at"]
    list_filter = ["question", "value"]
    search_fields = ["=candidate__id", "annotator__username"]
    show_full_result_count = False


@admin.register(ConsolidatedLabel)
class ConsolidatedLabelAdmin(ReadOnlyAdmin):
    list_display = ["candidate", "question", "value", "confidence", "yes", "no", "method", "updated_at"]
    list_filter = ["question", "value", "method"]
    search_fields = ["=candidate__id"]
    show_full_result_count = False


@admin.register(QuestionWording)
class QuestionWordingAdmin(admin.ModelAdmin):
    list_display = ["question", "relation", "behaviour_kind", "template"]
    list_filter = ["question", "behaviour_kind", "relation"]
    autocomplete_fields = ["relation"]


@admin.register(AnnotatorProfile)
class AnnotatorProfileAdmin(admin.ModelAdmin):
    """Admins review flagged annotators here: unpause them or let their answers count again."""

    list_display = ["user", "gold_correct", "gold_total", "flagged", "paused", "excluded", "updated_at"]
    list_filter = ["flagged", "paused", "excluded"]
    list_editable = ["paused", "excluded"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "gold_correct", "gold_total"]


@admin.register(NewLabelCount)
class NewLabelCountAdmin(ReadOnlyAdmin):
    list_display = ["question", "count", "updated_at"]
