"""The feature store (curated knowledge per key, versioned by snapshot) and the asynchronous cache of generated
knowledge for keys the graph does not know. Fields and constraints only; serving.services does every write."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class ServingSnapshot(models.Model):
    """One change of the feature store: a full rebuild or the keys an approval touched. Its id is what a consumer
    pins (``?snapshot=``); the record says what it changed and how long it took."""

    class Kind(models.TextChoices):
        FULL = "full"
        INCREMENTAL = "incremental"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    event = models.BigIntegerField(null=True, blank=True, help_text="The pipeline event that caused it.")
    keys_changed = models.BigIntegerField(default=0)
    keys_removed = models.BigIntegerField(default=0)
    edges = models.BigIntegerField(default=0, help_text="Accepted edges read to build it.")
    timings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"snapshot #{self.pk} ({self.kind})"


class ServingEntry(models.Model):
    """The curated knowledge of one key as it reads from snapshot ``valid_from`` until ``valid_to`` (exclusive;
    null: it is current). ``body`` is the response's JSON, pre-rendered for the first page at the default page
    size (the read path copies it out); ``edges`` holds every edge when a relation has more than fit on it."""

    key = models.CharField(max_length=700)
    valid_from = models.BigIntegerField()
    valid_to = models.BigIntegerField(null=True, blank=True)
    edge_count = models.PositiveIntegerField(default=0)
    body = models.BinaryField()
    edges = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=Q(valid_to__isnull=True), name="serving_current_key"),
            models.UniqueConstraint(fields=["key", "valid_from"], name="serving_key_version"),
        ]

    def __str__(self) -> str:
        return f"{self.key} [{self.valid_from}, {self.valid_to})"


class GeneratedKnowledge(models.Model):
    """The asynchronous cache: model-generated (and judged) knowledge for a key the graph does not know.

    ``claim`` counts the generations asked for; a worker writes its result only while its claim is the latest
    (a late worker of an older claim never overwrites a newer one). ``pending``: a generation is on its way; the
    last ``body`` (if any) is still served meanwhile."""

    key = models.CharField(max_length=700, unique=True)
    fields = models.JSONField(default=dict, help_text="The key's fields, for the worker that generates.")
    pending = models.BooleanField(default=True)
    claim = models.PositiveIntegerField(default=1)
    body = models.BinaryField(null=True, blank=True, help_text="The response's 'generated' object, pre-rendered.")
    model = models.CharField(max_length=300, blank=True, help_text="The generation backend and model that made it.")
    error = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(db_default=Now())
    generated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "generated knowledge"

    def __str__(self) -> str:
        return f"{self.key} ({'pending' if self.pending else 'ready'})"
