"""The classifier registry and its run records. Fields and constraints only; services do every write.

A ``ModelVersion`` is one trained classifier for one target question. At most one version per target is active;
activating one gives it a new ``version_token`` (a strictly increasing number across activations), and every score
carries the token of the version that wrote it, so a late scoring task of an older activation never overwrites a
newer one (``CandidateScore`` upserts only when the incoming token is not older).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.runs import Run, RunStatus


class ModelKind(models.TextChoices):
    TFIDF_LR = "tfidf_lr", "TF-IDF n-grams + logistic regression"
    ENCODER_LR = "encoder_lr", "Frozen sentence encoder + logistic regression"
    CROSS_ENCODER = "cross_encoder", "Fine-tuned cross-encoder (experimental, GPU; not shown to beat encoder_lr)"
    LM_JUDGE = "lm_judge", "Causal LM judging yes/no (COSMO-LM's judgement task)"
    MEAN_LR = "mean_lr", "tfidf_lr and encoder_lr together, the mean of their P(yes)"


IN_FLIGHT = [RunStatus.QUEUED, RunStatus.RUNNING]


class TrainingRun(Run):
    """One training of one target. Single-flight: at most one queued or running run per target (a constraint)."""

    class Trigger(models.TextChoices):
        LABELS = "labels", "New labels"
        MANUAL = "manual", "On demand"

    target = models.CharField(max_length=40, help_text="The question slug the classifier predicts.")
    kind = models.CharField(
        max_length=16, choices=ModelKind.choices, help_text="The kind registered (with several kinds: the chosen one)."
    )
    kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="Kinds compared on the same grouped folds (empty: only ``kind``); the rule picks one.",
    )
    params = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    force = models.BooleanField(default=False, help_text="Activate the result even if it is worse than the active.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label_count = models.PositiveIntegerField(default=0)
    label_counter = models.BigIntegerField(
        default=0, help_text="The target's cumulative new-label counter when requested (the retraining trigger)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(status__in=IN_FLIGHT), name="one_training_in_flight_per_target"
            )
        ]

    def __str__(self) -> str:
        return f"training #{self.pk} {self.target}/{self.kind} ({self.status})"


class ModelVersion(models.Model):
    target = models.CharField(max_length=40)
    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    params = models.JSONField(default=dict, blank=True)
    label_count = models.PositiveIntegerField(default=0, help_text="Labelled candidates it was trained on.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Held-out evaluation (see classifiers.ml.metrics).")
    threshold = models.FloatField(
        null=True, blank=True, help_text="Scores at or above it are accepted (chosen for the target precision)."
    )
    artifact = models.CharField(max_length=500, help_text="Folder under PLAUSI_MODEL_ROOT.")
    training_run = models.OneToOneField(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    is_active = models.BooleanField(default=False)
    version_token = models.BigIntegerField(
        null=True, blank=True, help_text="Set at each activation, larger than any earlier one."
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promotion = models.JSONField(default=dict, blank=True, help_text="Why it was (or was not) activated.")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(is_active=True), name="one_active_version_per_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target} v{self.pk} ({self.kind}{', active' if self.is_active else ''})"


class ScoringRun(Run):
    """Scoring the pool with one activated version: split into id-range chunks, one task per chunk."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scoring_runs")
    version_token = models.BigIntegerField()
    chunk_size = models.PositiveIntegerField(default=50_000)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"scoring #{self.pk} of {self.model_version_id} ({self.status})"


class ScoringChunk(models.Model):
    """Candidates with ``start_id <= id < end_id``. Claimed by a conditional UPDATE; a redelivered task (same
    task id, after its worker died and missed its heartbeats) may claim its own chunk again, anyone once the
    heartbeat is stale (``core.runs``)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="chunks")
    start_id = models.BigIntegerField()
    end_id = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="The claimant's last sign of life.")
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its latest message was sent (the scoring sweep's loss detection)."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "start_id"]
        constraints = [models.UniqueConstraint(fields=["run", "start_id"], name="one_chunk_per_range")]
        indexes = [models.Index(fields=["run", "status"], name="scoring_chunk_status")]

    def __str__(self) -> str:
        return f"chunk [{self.start_id}, {self.end_id}) of run {self.run_id} ({self.status})"


class CandidateScore(models.Model):
    """The latest score of a candidate for a target. Written only with a token at least the stored one."""

    candidate = models.ForeignKey("knowledge.Candidate", on_delete=models.CASCADE, related_name="scores")
    target = models.CharField(max_length=40)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    version_token = models.BigIntegerField()
    score = models.FloatField()
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "target"], name="one_score_per_target")]
        indexes = [models.Index(fields=["target", "score"], name="score_by_target")]

    def __str__(self) -> str:
        return f"#{self.candidate_id} {self.target}={self.score:.3f}"
