"""COSMO-LM's registry and its training runs. Fields and constraints only; ``lm.services`` does every write.

An ``LMVersion`` is one fine-tuned causal LM: its base, the data it saw (which accepted edges and labels, which
behaviours were held out), its hyper-parameters, its held-out metrics and the untuned base's on the same split, and
its artifact (safetensors adapters, or weights after full fine-tuning) under ``PLAUSI_MODEL_ROOT``. At most one
version is active: the one the generation backend and the serving cache use.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.runs import Run


class LMTrainingRun(Run):
    """One COSMO-LM training: reads the instruction data, trains, evaluates, registers a version."""

    base_model = models.CharField(max_length=500, blank=True, help_text="Folder or .gguf file; blank: the default.")
    params = models.JSONField(default=dict, blank=True, help_text="classifiers.ml.lm.model.LMParams overrides.")
    data = models.JSONField(
        default=dict, blank=True, help_text="Which data: export filters, held-out share and split seed."
    )
    activate = models.BooleanField(default=True, help_text="Activate the version when it is not worse.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    counts = models.JSONField(default=dict, blank=True, help_text="Examples per task and split.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"LM training #{self.pk} ({self.status})"


class LMVersion(models.Model):
    base_model = models.CharField(max_length=500)
    params = models.JSONField(default=dict, blank=True)
    data_snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text="Accepted edges and labels it saw (counts, id range, digest), the split and the examples' file.",
    )
    metrics = models.JSONField(default=dict, blank=True, help_text="Held-out evaluation (classifiers.ml.lm.evaluate).")
    base_metrics = models.JSONField(default=dict, blank=True, help_text="The untuned base on the same split.")
    training = models.JSONField(default=dict, blank=True, help_text="Steps, throughput, losses, device.")
    artifact = models.CharField(max_length=500, help_text="Folder under PLAUSI_MODEL_ROOT.")
    training_run = models.OneToOneField(
        LMTrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="version"
    )
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promotion = models.JSONField(default=dict, blank=True, help_text="Why it was (or was not) activated.")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_lm")]

    def __str__(self) -> str:
        return f"COSMO-LM v{self.pk}{' (active)' if self.is_active else ''}"
