"""Filter configurations (versioned), filter runs, every drop decision, and the embedding cache."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.runs import Run


class FilterConfiguration(models.Model):
    """One version of the rule set and every threshold. Versions are immutable; a run keeps a copy of its own."""

    version = models.PositiveIntegerField(unique=True)
    note = models.CharField(max_length=300, blank=True)
    config = models.JSONField(help_text="The complete, validated configuration (see filtering/config.py).")
    is_active = models.BooleanField(default=False, help_text="The configuration a run uses when none is named.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_filter_config")
        ]

    def __str__(self) -> str:
        return f"filter configuration v{self.version}{' (active)' if self.is_active else ''}"


class FilterRun(Run):
    """One pass of the filters over the pool: moves candidates between ingested, pooled and filtered out."""

    configuration = models.ForeignKey(FilterConfiguration, on_delete=models.PROTECT, related_name="runs")
    config = models.JSONField(help_text="The exact configuration this run used.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidates_seen = models.BigIntegerField(default=0)
    candidates_kept = models.BigIntegerField(default=0)
    candidates_dropped = models.BigIntegerField(default=0)
    moved_to_pooled = models.BigIntegerField(default=0)
    moved_to_filtered_out = models.BigIntegerField(default=0)
    report = models.JSONField(default=dict, help_text="Counts per rule, overlaps and examples.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"filter run #{self.pk} ({self.status})"


class FilterDecision(models.Model):
    """A rule that fired on a candidate in a run: the answer to "why was this dropped?"."""

    run = models.ForeignKey(FilterRun, on_delete=models.CASCADE, related_name="decisions")
    candidate = models.ForeignKey("knowledge.Candidate", on_delete=models.CASCADE, related_name="filter_decisions")
    rule = models.CharField(max_length=64)
    score = models.FloatField()
    reason = models.TextField()

    class Meta:
        indexes = [
            models.Index(fields=["candidate", "run"], name="decision_candidate_run"),
            models.Index(fields=["run", "rule"], name="decision_run_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on #{self.candidate_id}"


class TextEmbedding(models.Model):
    """Cached sentence embeddings, so a re-run with new thresholds does not re-embed."""

    model_key = models.CharField(max_length=200)
    text_hash = models.CharField(max_length=40)
    vector = models.BinaryField(help_text="float32 little-endian, L2-normalised")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model_key", "text_hash"], name="unique_embedding")]

    def __str__(self) -> str:
        return f"{self.model_key}:{self.text_hash}"
