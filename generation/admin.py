"""Django admin for generation: prompt templates are edited as new versions (the old one stays for provenance);
runs and their prompts are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from core.errors import ApplicationError
from generation.models import GenerationRun, GenerationTask, PromptTemplate
from generation.services import prompt_template_save


class PromptTemplateForm(forms.ModelForm):
    class Meta:
        model = PromptTemplate
        fields = ["relation", "head_kind", "text"]

    def clean_text(self) -> str:
        text = str(self.cleaned_data["text"])
        if "{question}" not in text and "{relation}" not in text:
            raise forms.ValidationError("A prompt must ask something: use {question} (or {relation}).")
        return text


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    """Saving stores the form's text as the next version of the (relation, kind) prompt and activates it."""

    form = PromptTemplateForm
    list_display = ["relation", "head_kind", "version", "is_active", "created_by", "created_at"]
    list_filter = ["head_kind", "is_active", "relation"]
    readonly_fields = ["version", "is_active", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: PromptTemplate, form: Any, change: bool) -> None:
        try:
            saved = prompt_template_save(
                relation_slug=form.cleaned_data["relation"].slug,
                head_kind=form.cleaned_data["head_kind"],
                text=form.cleaned_data["text"],
                actor=request.user,
            )
        except ApplicationError as exc:  # pragma: no cover - the form validated the same rule
            raise forms.ValidationError(str(exc)) from exc
        obj.pk = saved.pk
        obj.version = saved.version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GenerationRun)
class GenerationRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "backend", "model_name", "status", "phase", "progress_done", "progress_total", "created_at"]
    list_filter = ["status", "backend"]


@admin.register(GenerationTask)
class GenerationTaskAdmin(ReadOnlyAdmin):
    list_display = ["run", "pair", "relation", "status", "attempts", "error"]
    list_filter = ["status"]
    raw_id_fields = ["run", "pair"]
