"""Prompt templates (versioned, admin-edited), generation runs and their per-prompt tasks (which make a run
resumable: re-executing it only works on the tasks that are not done)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.runs import Run


class PromptTemplate(models.Model):
    """A prompt for one relation and behaviour kind. Saving never edits a version: a change is a new version."""

    relation = models.ForeignKey("knowledge.Relation", on_delete=models.PROTECT, related_name="+")
    head_kind = models.CharField(max_length=16, choices=[("search_buy", "search_buy"), ("co_buy", "co_buy")])
    version = models.PositiveIntegerField()
    text = models.TextField(help_text="Placeholders: {query} {product} {other_product} {category} {question} {items}")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["relation", "head_kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["relation", "head_kind", "version"], name="one_prompt_version"),
            models.UniqueConstraint(
                fields=["relation", "head_kind"], condition=Q(is_active=True), name="one_active_prompt"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.relation_id}/{self.head_kind} v{self.version}"

    @property
    def prompt_id(self) -> str:
        return f"prompt-{self.pk}-v{self.version}"


class GenerationRun(Run):
    class Backend(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible HTTP endpoint"
        LOCAL = "local", "Local transformers causal LM"
        COSMO_LM = "cosmo_lm", "A COSMO-LM version (its artifact under the model root)"

    backend = models.CharField(max_length=8, choices=Backend.choices)
    model_name = models.CharField(max_length=300)
    sampling = models.JSONField(default=dict, help_text="temperature, top_p, max_tokens, seed, items per prompt")
    selection = models.JSONField(default=dict, help_text="How the behaviour pairs were chosen.")
    relations = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(default=dict, blank=True)
    ingest_run = models.OneToOneField(
        "knowledge.IngestRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_run"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"generation #{self.pk} ({self.status})"


class GenerationTask(models.Model):
    """One prompt: a behaviour pair and a relation, its template version, and what came back."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="tasks")
    pair = models.ForeignKey("knowledge.BehaviourPair", on_delete=models.CASCADE, related_name="+")
    relation = models.ForeignKey("knowledge.Relation", on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(PromptTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    output = models.TextField(blank=True)
    explanations = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "pair", "relation"], name="one_task_per_prompt")]
        indexes = [models.Index(fields=["run", "status"], name="generation_task_status")]

    def __str__(self) -> str:
        return f"{self.run_id}: pair {self.pair_id} / {self.relation_id} ({self.status})"
