"""Django admin for filtering: configurations are added as validated new versions; runs and decisions are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from filtering.config import ConfigError, validate_config
from filtering.models import FilterConfiguration, FilterDecision, FilterRun, TextEmbedding
from filtering.services import filter_configuration_create


class FilterConfigurationForm(forms.ModelForm):
    class Meta:
        model = FilterConfiguration
        fields = ["config", "note", "is_active"]

    def clean_config(self) -> Any:
        try:
            return validate_config(self.cleaned_data["config"])
        except ConfigError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(FilterConfiguration)
class FilterConfigurationAdmin(admin.ModelAdmin):
    """Saving never edits a version in place: it stores the form's configuration as the next version."""

    form = FilterConfigurationForm
    list_display = ["version", "is_active", "note", "created_by", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["version", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: FilterConfiguration, form: Any, change: bool) -> None:
        saved = filter_configuration_create(
            config=form.cleaned_data["config"],
            note=form.cleaned_data.get("note", ""),
            activate=form.cleaned_data.get("is_active", True),
            created_by=request.user,
        )
        obj.pk = saved.pk
        obj.version = saved.version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FilterRun)
class FilterRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "phase",
        "configuration",
        "candidates_seen",
        "candidates_kept",
        "candidates_dropped",
        "moved_to_pooled",
        "moved_to_filtered_out",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["configuration"]


@admin.register(FilterDecision)
class FilterDecisionAdmin(ReadOnlyAdmin):
    """Search by candidate id (e.g. ``1234``) to answer "why was this dropped?"."""

    list_display = ["candidate", "rule", "score", "reason", "run"]
    list_filter = ["rule", "run"]
    search_fields = ["=candidate__id", "reason", "candidate__tail"]
    list_select_related = ["candidate", "run"]
    show_full_result_count = False


@admin.register(TextEmbedding)
class TextEmbeddingAdmin(ReadOnlyAdmin):
    list_display = ["model_key", "text_hash", "created_at"]
    list_filter = ["model_key"]
    show_full_result_count = False
