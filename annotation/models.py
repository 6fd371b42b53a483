"""Questions, the annotation queue, assignments (leases), answers and consolidated labels.

See docs/annotation.md for the algorithm that these tables serve (which question next, gating, overlap).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now


class Question(models.Model):
    """One yes/no question of COSMO's decomposition, asked in ``order``; admins edit the wording."""

    slug = models.SlugField(max_length=40, unique=True)
    order = models.PositiveSmallIntegerField(unique=True)
    label = models.CharField(max_length=60)
    template = models.CharField(
        max_length=400,
        help_text="Plain-language question; {statement} is the candidate as a sentence, {tail} its tail, "
        "{behaviour} what it is about ('this search and this product', 'these two products bought together').",
    )
    help_text = models.CharField(max_length=400, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.slug


class QuestionWording(models.Model):
    """A question's wording for one relation, one kind of behaviour, or both, where the general wording reads badly.

    The most specific wording wins: relation and kind, then relation (any kind), then kind (any relation), then
    the question's own template. A blank ``help_text`` keeps the question's.
    """

    class BehaviourKind(models.TextChoices):
        ANY = "", "any kind"
        SEARCH_BUY = "search_buy", "search → buy"
        CO_BUY = "co_buy", "co-buy"
        PLAIN = "plain", "plain head text"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="wordings")
    relation = models.ForeignKey(
        "knowledge.Relation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: every relation.",
    )
    behaviour_kind = models.CharField(
        max_length=16, choices=BehaviourKind.choices, blank=True, default="", help_text="Empty: every kind."
    )
    template = models.CharField(max_length=400)
    help_text = models.CharField(max_length=400, blank=True, help_text="Empty: the question's help.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "relation", "behaviour_kind"],
                condition=Q(relation__isnull=False),
                name="unique_wording",
            ),
            models.UniqueConstraint(
                fields=["question", "behaviour_kind"],
                condition=Q(relation__isnull=True),
                name="unique_kind_wording",
            ),
            models.CheckConstraint(
                name="wording_has_a_scope", condition=Q(relation__isnull=False) | ~Q(behaviour_kind="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}/{self.relation_id or '*'}/{self.behaviour_kind or '*'}"


class QueueItem(models.Model):
    """A candidate waiting for annotators. ``wanted`` is how many more annotators it needs; ``in_flight`` how many
    hold a lease on it now. It can be claimed while ``in_flight < wanted``."""

    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    candidate = models.OneToOneField("knowledge.Candidate", on_delete=models.CASCADE, primary_key=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    priority = models.FloatField(default=0.0)
    wanted = models.PositiveSmallIntegerField(default=2)
    in_flight = models.PositiveSmallIntegerField(default=0)
    is_gold = models.BooleanField(default=False)
    closed_reason = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text="Why it closed with a question unsettled the ordinary way (no annotator was left): issue 21.",
    )
    # The claim's order within a priority: a hash of the candidate id, spread evenly over [0, 2**31) (queue_fill
    # sets it; 0 for rows made otherwise, whose ties then fall back to the candidate id).
    tiebreak = models.IntegerField(default=0)
    started = models.BooleanField(default=False, help_text="Leased at least once.")
    # Derived by the database (never written): a slot is free. Indexed through the claim's partial indexes, so an
    # update that does not change it (most of in_flight's) stays a HOT update.
    claimable = models.GeneratedField(
        expression=Q(in_flight__lt=F("wanted")),  # type: ignore[arg-type]  # a Q resolves as a boolean expression
        output_field=models.BooleanField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            # Open items in priority order: the progress count, and the claim's last resort.
            models.Index(fields=["-priority", "candidate"], name="queue_open_priority", condition=Q(state="open")),
            # The claim's three ranges (annotation/sql.py, CLAIM): candidates already started that have a free
            # slot (few: the work in progress), fresh ones by priority and hashed tiebreak (entered at a random
            # point of the top priority), and gold ones likewise. Items without a free slot are in none of them,
            # so leased and abandoned items cost a claim nothing.
            models.Index(
                fields=["-priority", "candidate"],
                name="queue_started_free",
                condition=Q(state="open", is_gold=False, started=True, claimable=True),
            ),
            models.Index(
                fields=["-priority", "tiebreak"],
                name="queue_fresh",
                condition=Q(state="open", is_gold=False, started=False),
            ),
            models.Index(fields=["-priority", "tiebreak"], name="queue_gold", condition=Q(state="open", is_gold=True)),
        ]

    def __str__(self) -> str:
        return f"queue #{self.candidate_id} ({self.state})"


class Assignment(models.Model):
    """One annotator's pass over one candidate, under a lease. An annotator never gets a candidate twice."""

    class Status(models.TextChoices):
        LEASED = "leased"
        DONE = "done"
        SKIPPED = "skipped"
        EXPIRED = "expired"
        RELEASED = "released"  # given back by the annotator's page when it was left (a beacon)

    candidate = models.ForeignKey("knowledge.Candidate", on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.LEASED)
    lease_expires_at = models.DateTimeField()
    created_at = models.DateTimeField(db_default=Now())
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "annotator"], name="one_pass_per_annotator")]
        indexes = [
            models.Index(fields=["annotator", "status"], name="assignment_annotator_status"),
            models.Index(fields=["lease_expires_at"], name="assignment_lease", condition=Q(status="leased")),
            # An annotator's open leases (read by every request of the answer path). Without it the planner, which
            # rightly estimates live leases as few, walked the whole partial index above and filtered by annotator.
            models.Index(fields=["annotator"], name="assignment_leased_by", condition=Q(status="leased")),
        ]

    def __str__(self) -> str:
        return f"{self.annotator_id} on #{self.candidate_id} ({self.status})"


class Answer(models.Model):
    """A yes/no answer. ``idempotency_key`` makes a retried submit land once."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="answers")
    candidate = models.ForeignKey("knowledge.Candidate", on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="answers")
    value = models.BooleanField()
    idempotency_key = models.CharField(max_length=64)
    seconds = models.FloatField(null=True, blank=True, help_text="Time the annotator took, as the client measured it.")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["candidate", "question", "annotator"], name="one_answer_per_question"),
            models.UniqueConstraint(fields=["annotator", "idempotency_key"], name="unique_idempotency_key"),
        ]
        indexes = [models.Index(fields=["annotator", "created_at"], name="answer_annotator_time")]

    def __str__(self) -> str:
        return f"{self.annotator_id}: #{self.candidate_id}/{self.question_id} = {self.value}"


class ConsolidatedLabel(models.Model):
    """The consolidated answer to one question about one candidate, with its confidence and vote counts."""

    candidate = models.ForeignKey("knowledge.Candidate", on_delete=models.CASCADE, related_name="labels")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="labels")
    value = models.BooleanField(null=True, help_text="None while undecided or tied.")
    confidence = models.FloatField(default=0.0)
    yes = models.PositiveSmallIntegerField(default=0)
    no = models.PositiveSmallIntegerField(default=0)
    method = models.CharField(max_length=16, default="majority")
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "question"], name="one_label_per_question")]

    def __str__(self) -> str:
        return f"#{self.candidate_id}/{self.question_id} = {self.value}"


class AnnotatorProfile(models.Model):
    """An annotator's record on gold questions, and whether they may annotate and whether their answers count."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotator_profile")
    gold_correct = models.PositiveIntegerField(default=0)
    gold_total = models.PositiveIntegerField(default=0)
    flagged = models.BooleanField(default=False, help_text="Gold accuracy fell under the threshold.")
    paused = models.BooleanField(default=False, help_text="Gets no more questions until an admin unpauses.")
    excluded = models.BooleanField(default=False, help_text="Answers are left out of consolidation.")
    answered_on = models.DateField(null=True, blank=True, help_text="The (UTC) day answered_that_day counts.")
    answered_that_day = models.PositiveIntegerField(
        default=0, help_text="Answers given on answered_on (kept by the answer path; counting them grew with the day)."
    )
    updated_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"profile of {self.user_id}"

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_total if self.gold_total else None


class NewLabelCount(models.Model):
    """Consolidated labels decided since the classifier last trained on a question (the retraining trigger)."""

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="new_label_count")
    count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"{self.question_id}: {self.count}"
