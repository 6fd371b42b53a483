"""Review batches with their audit samples, the curation audit log, the accepted knowledge graph, and exports.
Fields and constraints only; curation.services does every write."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Now

from core.runs import Run


class ReviewBatch(models.Model):
    """Scored candidates, in one or more strata (``BatchStratum``), with a random audit sample drawn per stratum.

    ``relation`` is null only for a batch formed across relations (an explicit option); ``category`` is set when
    every stratum has that one category. ``audit_yes``/``audit_no`` are the sums over the strata."""

    class Status(models.TextChoices):
        AUDITING = "auditing"
        APPROVED = "approved"
        REJECTED = "rejected"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AUDITING)
    relation = models.ForeignKey(
        "knowledge.Relation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        "knowledge.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    score_low = models.FloatField()
    score_high = models.FloatField()
    size = models.PositiveIntegerField(default=0)
    audit_size = models.PositiveIntegerField(default=0)
    audit_yes = models.PositiveIntegerField(default=0)
    audit_no = models.PositiveIntegerField(default=0)
    versions = models.JSONField(default=dict, help_text="The active versions (id, token, threshold) per target.")
    half_width = models.FloatField(help_text="The 95% interval half-width the audit sample was sized for.")
    created_at = models.DateTimeField(db_default=Now())
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="batch_status_time")]

    def __str__(self) -> str:
        return f"batch #{self.pk} ({self.status}, {self.size} candidates)"

    @property
    def audited(self) -> int:
        return self.audit_yes + self.audit_no


class BatchStratum(models.Model):
    """A stratum of a review batch: candidates of one relation and one category (or several small categories of
    that relation, ``category_count`` > 1) within a range of score bands. Its audit sample is its own, so a bad
    stratum shows in the batch's breakdown and can be excluded when the rest is approved."""

    batch = models.ForeignKey(ReviewBatch, on_delete=models.CASCADE, related_name="strata")
    relation = models.ForeignKey("knowledge.Relation", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        "knowledge.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category_count = models.PositiveIntegerField(
        default=1, help_text="How many categories the stratum holds (more than 1: small categories merged)."
    )
    label = models.CharField(max_length=300, help_text="What the stratum holds, for people (relation, category).")
    score_low = models.FloatField()
    score_high = models.FloatField()
    size = models.PositiveIntegerField(default=0)
    audit_size = models.PositiveIntegerField(default=0)
    audit_yes = models.PositiveIntegerField(default=0)
    audit_no = models.PositiveIntegerField(default=0)
    excluded = models.BooleanField(
        default=False, help_text="Dropped by the curator when the batch was approved: its candidates went back."
    )

    class Meta:
        ordering = ["batch", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(audit_yes__lte=F("audit_size") - F("audit_no")), name="stratum_answers_within_sample"
            ),
        ]

    def __str__(self) -> str:
        return f"stratum #{self.pk} of batch {self.batch_id} ({self.label})"

    @property
    def audited(self) -> int:
        return self.audit_yes + self.audit_no


class BatchMember(models.Model):
    batch = models.ForeignKey(ReviewBatch, on_delete=models.CASCADE, related_name="members")
    stratum = models.ForeignKey(BatchStratum, on_delete=models.CASCADE, related_name="members")
    candidate = models.ForeignKey("knowledge.Candidate", on_delete=models.CASCADE, related_name="batch_memberships")
    score = models.FloatField(help_text="The lowest of the candidate's active target scores.")
    in_audit = models.BooleanField(default=False)
    audit_value = models.BooleanField(null=True, blank=True)
    audited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audited_at = models.DateTimeField(null=True, blank=True)
    is_open = models.BooleanField(default=True, help_text="The batch is still undecided.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "candidate"], name="one_membership_per_batch"),
            models.UniqueConstraint(
                fields=["candidate"], condition=Q(is_open=True), name="one_open_batch_per_candidate"
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "in_audit"], name="member_audit"),
            models.Index(fields=["stratum", "in_audit"], name="member_stratum_audit"),
        ]

    def __str__(self) -> str:
        return f"#{self.candidate_id} in batch {self.batch_id}"


class CurationEvent(models.Model):
    """The audit log: every curation decision, who made it and when (append-only)."""

    class Action(models.TextChoices):
        BATCH_CREATED = "batch_created"
        AUDIT_ANSWER = "audit_answer"
        BATCH_APPROVED = "batch_approved"
        BATCH_REJECTED = "batch_rejected"
        CANDIDATE_ACCEPTED = "candidate_accepted"
        CANDIDATE_REJECTED = "candidate_rejected"
        EXPORT = "export"

    action = models.CharField(max_length=24, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.ForeignKey(ReviewBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    candidate = models.ForeignKey(
        "knowledge.Candidate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at}"


class GraphNode(models.Model):
    class Kind(models.TextChoices):
        QUERY = "query"
        PRODUCT = "product"
        CATEGORY = "category"
        CONCEPT = "concept", "Intention / tail concept"
        HEAD = "head", "Other head"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(
        max_length=500, help_text="Query: normalised text; product: catalogue id; concept: normalised tail."
    )
    label = models.CharField(max_length=1000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="one_node_per_key")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.label}"


# An edge's rank in a neighbourhood: its score, an unscored edge (a single decision without a classifier) last.
# Indexed as EDGE_RANK_INDEXED; queries read EDGE_RANK, the same SQL with -1.0 written into it rather than bound as
# a parameter: a prepared statement's generic plan sees COALESCE(score, $1), which matches no index, and sorts
# every edge of a hub instead of reading the first few in index order.
EDGE_RANK_INDEXED = Coalesce(F("score"), Value(-1.0))
EDGE_RANK = Coalesce(F("score"), RawSQL("-1.0", (), output_field=models.FloatField()))


class AcceptedEdge(models.Model):
    """Accepted knowledge: (head node, relation, tail node) with its provenance.

    The explorer reads a node's edges best first and pages by (rank, id) (``curation.graph_selectors``): the
    ``edge_*_rank`` indexes serve those reads without sorting, so a hub concept with 100,000 in-edges answers as
    fast as a leaf; a relation or category filter on a tail has its own index (hubs are tails)."""

    candidate = models.OneToOneField("knowledge.Candidate", on_delete=models.CASCADE, related_name="accepted_edge")
    head = models.ForeignKey(GraphNode, on_delete=models.PROTECT, related_name="out_edges")
    relation = models.ForeignKey("knowledge.Relation", on_delete=models.PROTECT, related_name="+")
    tail = models.ForeignKey(GraphNode, on_delete=models.PROTECT, related_name="in_edges")
    category = models.ForeignKey(
        "knowledge.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(GraphNode, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField(null=True, blank=True)
    batch = models.ForeignKey(ReviewBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="edges")
    versions = models.JSONField(default=dict, blank=True)
    audit = models.JSONField(default=dict, blank=True, help_text="The batch's audit result when it was approved.")
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            models.Index(fields=["relation"], name="edge_relation"),
            models.Index(fields=["category"], name="edge_category"),
            models.Index(fields=["accepted_at"], name="edge_time"),
            models.Index(F("head"), EDGE_RANK_INDEXED.desc(), F("id").desc(), name="edge_head_rank"),
            models.Index(F("tail"), EDGE_RANK_INDEXED.desc(), F("id").desc(), name="edge_tail_rank"),
            models.Index(
                F("tail"), F("relation"), EDGE_RANK_INDEXED.desc(), F("id").desc(), name="edge_tail_relation_rank"
            ),
            models.Index(
                F("tail"), F("category"), EDGE_RANK_INDEXED.desc(), F("id").desc(), name="edge_tail_category_rank"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.head_id} -{self.relation_id}-> {self.tail_id}"


class ExportRun(Run):
    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON Lines (one edge per line, with provenance)"
        NEO4J = "neo4j", "CSV nodes + relationships for neo4j-admin import (zip)"
        NTRIPLES = "ntriples", "RDF N-Triples"
        INSTRUCTIONS = "instructions", "Instruction-tuning JSON Lines (COSMO-LM)"
        SPREADSHEET = "csv", "CSV table for spreadsheets (one edge per row, formulas neutralised)"
        ANSWERS = "answers", "Every answer, JSON Lines (annotators pseudonymised)"
        ANSWERS_CSV = "answers_csv", "Every answer, CSV (annotators pseudonymised)"
        LABELS = "labels", "Every consolidated label, JSON Lines (method, votes, confidence, agreement)"
        LABELS_CSV = "labels_csv", "Every consolidated label, CSV"
        HF_DATASET = "hf_dataset", "Hugging Face dataset folder, zipped (Parquet per split + dataset card)"

    format = models.CharField(max_length=16, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(
        max_length=300, blank=True, help_text="Under PRIVATE_MEDIA_ROOT/exports (never public)."
    )
    file_size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    file_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the retention clean-up deleted its file (EXPORT_FILE_RETENTION_DAYS)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export #{self.pk} {self.format} ({self.status})"
