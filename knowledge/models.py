"""COSMO's inputs (products, queries, behaviour pairs), the relation catalogue, candidates and ingest runs.

Models hold fields and constraints only; every write goes through ``knowledge.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.runs import Run


class Category(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    external_id = models.CharField(max_length=100, unique=True, help_text="The catalogue's own id (ASIN, SKU).")
    title = models.CharField(max_length=1000, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    attributes = models.JSONField(default=dict, blank=True, help_text="Free attributes: brand, colour, size...")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title[:60]}"


class SearchQuery(models.Model):
    text = models.CharField(max_length=500)
    normalized_text = models.CharField(max_length=500, unique=True)
    specificity = models.FloatField(
        null=True,
        blank=True,
        help_text="How specific the query is (low = broad, ambiguous); set by sampling.",
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["normalized_text"]
        verbose_name_plural = "search queries"

    def __str__(self) -> str:
        return self.text


class BehaviourPair(models.Model):
    """Observed behaviour that an LLM was asked to explain: a query then a purchase, or two co-purchases."""

    class Kind(models.TextChoices):
        SEARCH_BUY = "search_buy", "search → buy"
        CO_BUY = "co_buy", "co-buy"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=32, unique=True, help_text="Digest of the kind and members (dedup key).")
    query = models.ForeignKey(SearchQuery, null=True, blank=True, on_delete=models.PROTECT, related_name="pairs")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="pairs")
    other_product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="co_pairs")
    observation_count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="pair_members_match_kind",
                condition=(
                    Q(kind="search_buy", query__isnull=False, other_product__isnull=True)
                    | Q(kind="co_buy", query__isnull=True, other_product__isnull=False)
                ),
            ),
            models.CheckConstraint(name="pair_observation_count_positive", condition=Q(observation_count__gte=1)),
            models.UniqueConstraint(
                fields=["query", "product"], condition=Q(kind="search_buy"), name="unique_search_buy_pair"
            ),
            models.UniqueConstraint(
                fields=["product", "other_product"], condition=Q(kind="co_buy"), name="unique_co_buy_pair"
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.SEARCH_BUY:
            return f"search_buy #{self.pk}"
        return f"co_buy #{self.pk}"


class Relation(models.Model):
    """A relation of the catalogue; seeded with COSMO's set by a migration, editable by admins."""

    slug = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    sentence_template = models.CharField(
        max_length=300,
        help_text="How the relation reads in a sentence, with {head} and {tail}, e.g. '{head} is used for {tail}'.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                name="relation_template_has_placeholders",
                condition=Q(sentence_template__contains="{head}") & Q(sentence_template__contains="{tail}"),
            )
        ]

    def __str__(self) -> str:
        return self.slug


class RelationSentence(models.Model):
    """How a relation's statement reads for one kind of head; without one, ``Relation.sentence_template`` is used.

    Placeholders (``knowledge.sentences``): {head}, {product}, {other_product}, {query}, and the tail as {tail},
    {tail_noun}, {tail_bare}, {to_tail} or {for_tail}, whichever reads grammatically after the template's words.
    """

    class BehaviourKind(models.TextChoices):
        SEARCH_BUY = "search_buy", "search → buy"
        CO_BUY = "co_buy", "co-buy"
        PLAIN = "plain", "plain head text"

    relation = models.ForeignKey(Relation, on_delete=models.CASCADE, related_name="sentences")
    behaviour_kind = models.CharField(max_length=16, choices=BehaviourKind.choices)
    template = models.CharField(
        max_length=300,
        help_text="e.g. 'Someone who buys {product} together with {other_product} wants {to_tail}.' "
        "Tail forms: {tail} as generated, {tail_noun}, {tail_bare} (no article), {to_tail}, {for_tail}.",
    )

    class Meta:
        ordering = ["relation", "behaviour_kind"]
        constraints = [
            models.UniqueConstraint(fields=["relation", "behaviour_kind"], name="unique_relation_sentence"),
            models.CheckConstraint(
                name="relation_sentence_has_tail",
                condition=(
                    Q(template__contains="{tail}")
                    | Q(template__contains="{tail_noun}")
                    | Q(template__contains="{tail_bare}")
                    | Q(template__contains="{to_tail}")
                    | Q(template__contains="{for_tail}")
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.relation_id}/{self.behaviour_kind}"


class Candidate(models.Model):
    """One piece of candidate knowledge: (head, relation, tail), where the head is a behaviour pair or text.

    ``status`` follows the lifecycle in ``knowledge.lifecycle`` and is changed only by services.
    """

    class Status(models.TextChoices):
        INGESTED = "ingested"
        FILTERED_OUT = "filtered_out", "filtered out"
        POOLED = "pooled"
        IN_ANNOTATION = "in_annotation", "in annotation"
        LABELLED = "labelled"
        SCORED = "scored"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    class HeadKind(models.TextChoices):
        SEARCH_BUY = "search_buy", "search → buy"
        CO_BUY = "co_buy", "co-buy"
        PLAIN = "plain", "plain head text"

    # Unique by a constraint, not ``unique=True``: that would add a second (LIKE-pattern) index on the digest, which
    # nobody searches by prefix and every ingest and status move of a million candidates would maintain.
    dedup_key = models.CharField(max_length=32, help_text="Digest of head + relation + normalised tail.")
    head_kind = models.CharField(max_length=16, choices=HeadKind.choices)
    pair = models.ForeignKey(
        BehaviourPair,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidates",
        db_index=False,  # covered by candidate_pair_id, which also serves head-ordered reads
    )
    head_text = models.CharField(max_length=500, blank=True, help_text="The head of a plain candidate.")
    relation = models.ForeignKey(Relation, on_delete=models.PROTECT, related_name="candidates")
    tail = models.CharField(max_length=500)
    tail_normalized = models.CharField(max_length=500)
    generator = models.CharField(max_length=200, blank=True, help_text="The model that generated it.")
    prompt_id = models.CharField(max_length=200, blank=True)
    support_count = models.PositiveIntegerField(default=1, help_text="How often it was generated.")
    merged_support = models.PositiveIntegerField(
        db_default=0, help_text="Support of near-duplicates the filters collapsed into this candidate (set, not added)."
    )
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        db_index=False,  # candidate_duplicate_of: only the few near-duplicates, not a million NULLs
        help_text="The representative this near-duplicate was collapsed into by the filters.",
    )
    known_labels = models.JSONField(
        default=dict, blank=True, help_text="Known answers loaded with the data (gold and evaluation)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INGESTED)
    # Provenance, written only by the ingest merge from the run that executes it (a join-free constant). No
    # database constraint: PostgreSQL would check it row by row at commit (about 5 s per million candidates), and
    # dropping it for a large load (as core/foreign_keys.py does for the pair and relation) would lock the run's
    # own table, stalling its progress page and heartbeat. Deleting a run still nulls it (the ORM's SET_NULL).
    ingest_run = models.ForeignKey(
        "IngestRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="candidates",
        db_constraint=False,
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        # No index holds ``status`` (or ``updated_at``), and the table leaves half of each page free (fillfactor
        # 50, migration 0015, PostgreSQL): a candidate changes status four or five times in its life, and so each
        # change is a heap-only update that writes no index entry (issue 22: the filter's move of a million
        # candidates went from ~18 s to ~3 s). Reads by status scan the table (see docs/filtering.md).
        indexes = [
            models.Index(fields=["pair", "id"], name="candidate_pair_id"),
            models.Index(
                fields=["duplicate_of"], condition=Q(duplicate_of__isnull=False), name="candidate_duplicate_of"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="candidate_dedup_key_unique"),
            models.CheckConstraint(
                name="candidate_head_matches_kind",
                condition=(
                    Q(head_kind__in=["search_buy", "co_buy"], pair__isnull=False)
                    | (Q(head_kind="plain", pair__isnull=True) & ~Q(head_text=""))
                ),
            ),
            models.CheckConstraint(name="candidate_support_positive", condition=Q(support_count__gte=1)),
            models.CheckConstraint(name="candidate_tail_not_empty", condition=~Q(tail_normalized="")),
            models.CheckConstraint(
                name="candidate_status_valid",
                condition=Q(
                    status__in=[
                        "ingested",
                        "filtered_out",
                        "pooled",
                        "in_annotation",
                        "labelled",
                        "scored",
                        "accepted",
                        "rejected",
                    ]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.relation_id}: {self.tail[:60]}"


class IngestRun(Run):
    """One ingest of one or more files: the record the CLI, the API and the UI read."""

    class Phase(models.TextChoices):
        WAITING = "waiting"
        READING = "reading", "reading and validating"
        MERGING = "merging"
        DONE = "done"

    class Source(models.TextChoices):
        CLI = "cli"
        API = "api"
        GENERATION = "generation"

    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.WAITING)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_runs"
    )
    dry_run = models.BooleanField(default=False)
    skip_invalid = models.BooleanField(default=False)
    format = models.CharField(max_length=8, blank=True, help_text="Forced format; empty = from the file name.")
    files = models.JSONField(default=list, help_text="Per file: name, path, size, sha256, format, outcome.")
    progress_done = models.BigIntegerField(default=0, help_text="Bytes read so far.")
    progress_total = models.BigIntegerField(default=0, help_text="Bytes to read.")
    lines_total = models.BigIntegerField(default=0)
    lines_valid = models.BigIntegerField(default=0)
    lines_invalid = models.BigIntegerField(default=0)
    candidates_created = models.BigIntegerField(default=0)
    candidates_merged = models.BigIntegerField(default=0)
    products_created = models.BigIntegerField(default=0)
    queries_created = models.BigIntegerField(default=0)
    pairs_created = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, help_text="The first problems: file, line, field, message.")
    error_count = models.BigIntegerField(default=0)
    rejects_path = models.CharField(max_length=500, blank=True)
    files_removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the retention clean-up deleted its uploads and rejects file (INGEST_FILE_RETENTION_DAYS).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"ingest #{self.pk} ({self.status})"


class IngestedFile(models.Model):
    """A file whose content was imported; its digest makes re-ingesting the same file a no-op."""

    run = models.ForeignKey(IngestRun, on_delete=models.CASCADE, related_name="ingested_files")
    name = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    line_count = models.BigIntegerField()
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return self.name
