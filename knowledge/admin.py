"""Django admin for every knowledge model. Candidates and runs are read-only here: services change them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from knowledge.models import (
    BehaviourPair,
    Candidate,
    Category,
    IngestedFile,
    IngestRun,
    Product,
    Relation,
    RelationSentence,
    SearchQuery,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["external_id", "title", "category", "updated_at"]
    list_filter = ["category"]
    search_fields = ["external_id", "title"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]
    show_full_result_count = False


@admin.register(SearchQuery)
class SearchQueryAdmin(admin.ModelAdmin):
    list_display = ["text", "normalized_text", "specificity"]
    search_fields = ["normalized_text"]
    show_full_result_count = False


@admin.register(BehaviourPair)
class BehaviourPairAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "query", "product", "other_product", "observation_count"]
    list_filter = ["kind"]
    search_fields = [
        "query__normalized_text",
        "product__external_id",
        "product__title",
        "other_product__title",
    ]
    list_select_related = ["query", "product", "other_product"]
    show_full_result_count = False


class RelationSentenceInline(admin.TabularInline):
    """The relation's statement per kind of head (see knowledge.sentences for the placeholders)."""

    model = RelationSentence
    extra = 0


@admin.register(RelationSentence)
class RelationSentenceAdmin(admin.ModelAdmin):
    list_display = ["relation", "behaviour_kind", "template"]
    list_filter = ["behaviour_kind", "relation"]
    search_fields = ["template", "relation__slug"]


@admin.register(Relation)
class RelationAdmin(admin.ModelAdmin):
    inlines = [RelationSentenceInline]
    ordering = ["slug"]
    list_display = ["slug", "label", "sentence_template", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["slug", "label", "description"]
    list_editable = ["is_active"]


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ["id", "head", "relation", "tail", "status", "support_count", "generator", "ingest_run"]
    list_filter = ["status", "head_kind", "relation", "pair__product__category"]
    search_fields = ["tail", "head_text", "pair__query__normalized_text", "pair__product__title"]
    list_select_related = ["relation", "pair__query", "pair__product", "pair__other_product"]
    show_full_result_count = False

    @admin.display(description="head")
    def head(self, candidate: Candidate) -> str:
        pair = candidate.pair
        if pair is None:
            return candidate.head_text
        if pair.query is not None:
            return f"“{pair.query.text}” → {pair.product.title or pair.product.external_id}"
        other = pair.other_product
        other_name = (other.title or other.external_id) if other is not None else "?"
        return f"{pair.product.title or pair.product.external_id} + {other_name}"


class IngestedFileInline(admin.TabularInline):
    model = IngestedFile
    extra = 0
    can_delete = False
    readonly_fields = ["name", "sha256", "size", "line_count", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "phase",
        "source",
        "created_by",
        "lines_total",
        "lines_invalid",
        "candidates_created",
        "candidates_merged",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "source", "dry_run"]
    search_fields = ["message"]
    inlines = [IngestedFileInline]


@admin.register(IngestedFile)
class IngestedFileAdmin(ReadOnlyAdmin):
    list_display = ["name", "run", "size", "line_count", "sha256", "created_at"]
    search_fields = ["name", "sha256"]
