"""``python manage.py simulate_annotators``: simulated annotators answer the real queue from known labels.

    python manage.py simulate_annotators --answers labelled.jsonl --annotators 3 --error-rate 0.1 --seed 7

Drives the annotation *services* (``assignment_next``, ``answer_submit``), not HTTP, so it exercises the same
assignment, gating, overlap and consolidation code as the annotator page. With ``--answers FILE`` (ingest format,
docs/formats.md) the file is ingested first, its candidates (found by the ingest's dedup identity) are pooled and
the queue is filled; without it the queue as it stands is annotated. The known labels are the truth to annotate
here, so the candidates queued by this command do not become gold questions. The queue is ordered by the
platform's priorities (``queue_priorities_recompute`` with the active classifiers' inputs) unless
``--keep-priorities``.

Each simulated annotator answers with the candidate's known label (``Candidate.known_labels``), flipped with
probability ``--error-rate``. A question with no known label of its own is taken to be Yes where the candidate has a
known label for a later question, as the figures below take it: a set labelled only for ``plausible`` has its
gates passed (a Yes to a later question implies the earlier ones; a No to it says nothing of them, and they are
taken as passed too). Where nothing after it is known either, it is answered Yes with probability 0.7. Annotators take
turns, one answer each, until nobody is offered anything or ``--max-answers`` is reached; then agreement
(``annotation.maths``) and the accuracy of the consolidated labels against the known labels are printed. When
nobody is offered anything, candidates that no annotator may see any more are settled by the evidence there is
(``queue_exhausted_settle``). Issue 21's figures follow: the share of answers spent on gate questions, the
accuracy of each training target (the function ``PLAUSI_ANNOTATION["TARGET_LABELS"]`` names,
``classifiers.selectors.target_labels``: the labels the classifiers learn from) against the truth the known labels
imply, and the candidates still open (stuck) or given up with a reason.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string
from tqdm import tqdm

from annotation.maths import gwet_ac1, krippendorff_alpha_nominal, percent_agreement
from annotation.maths.overlap import EXHAUSTED, GATE_OPEN, MAJORITY
from annotation.models import ConsolidatedLabel, Question, QueueItem
from annotation.services import Step, answer_submit, assignment_next, queue_fill, queue_priorities_recompute
from annotation.services.common import _conf_or_default, _gate_conf
from annotation.services.exhausted import queue_exhausted_settle
from core.errors import ApplicationError, Conflict
from core.roles import Role, user_has_role
from knowledge.ingest.parsing import STAGING_COLUMNS, LineParser
from knowledge.ingest.readers import detect_format, iter_csv, iter_jsonl, open_content
from knowledge.selectors import candidate_count, candidate_ids_by_dedup_key, candidate_known_labels, relation_ids
from knowledge.services import (
    IngestFileSpec,
    candidate_status_transition,
    ingest_run_claim,
    ingest_run_create,
    ingest_run_execute,
    user_create,
)

USERNAME_PREFIX = "sim-annotator-"
YES_WITHOUT_KNOWN_LABEL = 0.7
_DEDUP_KEY = STAGING_COLUMNS.index("dedup_key")


@dataclass(frozen=True)
class Agreement:
    answers: int
    items: int  # items (candidate, question) with at least two answers
    percent: float | None
    alpha: float | None
    ac1: float | None


@dataclass
class SimulationReport:
    answers: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    touched: int = 0
    labelled: int = 0
    agreement: dict[str, Agreement] = field(default_factory=dict)  # per question slug, plus "all"
    accuracy: dict[str, tuple[int, int]] = field(default_factory=dict)  # slug -> (correct, compared), plus "all"
    gate_answers: int = 0  # answers to gate questions (issue 21)
    target_accuracy: dict[str, tuple[int, int]] = field(default_factory=dict)  # target -> (correct, compared)
    settled_exhausted: int = 0  # closed by queue_exhausted_settle (no annotator left)
    stuck: int = 0  # touched candidates whose queue item is still open at the end
    given_up: int = 0  # touched candidates closed with a reason
    passed_on: int = 0  # gate labels passed on (gate_open), not counted in the per-question accuracy
    waived: int = 0  # gate labels waived (the classifier was confident)

    @property
    def gate_share(self) -> float:
        return self.gate_answers / self.answers if self.answers else 0.0

    @property
    def answers_per_second(self) -> float:
        return self.answers / self.seconds if self.seconds > 0 else 0.0


def annotators_ensure(count: int) -> list[Any]:
    """The users ``sim-annotator-1..count``, created (or given the annotator role) where needed."""
    user_model = get_user_model()
    users = []
    for number in range(1, count + 1):
        username = f"{USERNAME_PREFIX}{number}"
        user: Any = user_model.objects.filter(username=username).first()
        if user is None or not user_has_role(user, Role.ANNOTATOR):
            user, _password = user_create(username=username, role=Role.ANNOTATOR, reset_existing=True)
        users.append(user)
    return users


def file_candidate_ids(path: Path) -> list[int]:
    """The ids of the candidates that the file's valid lines identify (the ingest's dedup identity)."""
    parser = LineParser(relation_ids=relation_ids(), file_name=path.name, file_no=0)
    iterate = iter_csv if detect_format(path.name) == "csv" else iter_jsonl
    keys: set[str] = set()
    with path.open("rb", buffering=1024 * 1024) as raw:
        content = open_content(raw, max_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES)
        for _line_no, row, _raw_line in iterate(content, parser):
            if not isinstance(row, list):
                keys.add(row[_DEDUP_KEY])
    found = candidate_ids_by_dedup_key(sorted(keys))
    return [found[key] for key in sorted(keys) if key in found]


def priorities_recompute(*, seed: int = 0) -> int:
    """The platform's priorities, with the active classifiers' inputs (as the pipeline's hand-offs do)."""
    from annotation.priorities import priority_inputs

    return queue_priorities_recompute(**priority_inputs(), seed=seed)


def candidates_load(path: Path) -> int:
    """Ingest the file, pool its ingested candidates and fill the queue; returns how many candidates it names."""
    run = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source="cli")
    ingest_run_claim(run_id=run.pk)
    run = ingest_run_execute(run_id=run.pk)
    if run.status != "succeeded":
        raise ApplicationError(f"The ingest of {path.name} failed: {run.message}")
    ids = file_candidate_ids(path)
    candidate_status_transition(candidates=ids, to_status="pooled")
    queue_fill(gold_from_known_labels=False)
    return len(ids)


class _Answerer:
    """Chooses an annotator's answer: the known label, flipped with probability ``error_rate``."""

    def __init__(self, *, error_rate: float, rng: random.Random, order: list[str] | None = None) -> None:
        self.error_rate = error_rate
        self.rng = rng
        self.known: dict[int, dict[str, bool]] = {}
        #: The active questions' slugs in the order they are asked.
        self.order = order or []

    def known_labels(self, candidate_id: int) -> dict[str, bool]:
        if candidate_id not in self.known:
            labels = candidate_known_labels(candidate_id=candidate_id)
            self.known[candidate_id] = dict(labels or {})
        return self.known[candidate_id]

    def truth(self, candidate_id: int, slug: str) -> bool | None:
        """The candidate's true answer to ``slug``: its known label; else Yes when a later question has a known
        label (what ``_issue_21_figures`` assumes of an unknown earlier label); else None (not known)."""
        labels = self.known_labels(candidate_id)
        if slug in labels:
            return bool(labels[slug])
        if slug in self.order and any(later in labels for later in self.order[self.order.index(slug) + 1 :]):
            return True
        return None

    def value(self, candidate_id: int, slug: str) -> bool:
        truth = self.truth(candidate_id, slug)
        if truth is None:
            return self.rng.random() < YES_WITHOUT_KNOWN_LABEL
        return (not truth) if self.rng.random() < self.error_rate else truth


def _agreement(answers: list[tuple[Hashable, Hashable, bool]]) -> Agreement:
    per_item: dict[Hashable, int] = defaultdict(int)
    for item, _annotator, _value in answers:
        per_item[item] += 1
    return Agreement(
        answers=len(answers),
        items=sum(1 for count in per_item.values() if count >= 2),
        percent=percent_agreement(answers),
        alpha=krippendorff_alpha_nominal(answers),
        ac1=gwet_ac1(answers),
    )


def simulate(
    *,
    annotators: int,
    error_rate: float,
    seed: int | None = None,
    max_answers: int | None = None,
    answers_file: Path | None = None,
    progress: IO[str] | None = None,
    keep_priorities: bool = False,
    settle_exhausted: bool = True,
) -> SimulationReport:
    """Run the simulation (see the module docstring) and measure it."""
    if annotators < 1:
        raise ApplicationError("At least one annotator is needed.")
    if not 0.0 <= error_rate <= 1.0:
        raise ApplicationError("The error rate is a probability between 0 and 1.")
    if answers_file is not None:
        candidates_load(answers_file)
    else:
        queue_fill(gold_from_known_labels=False)
    if not keep_priorities:
        priorities_recompute(seed=seed or 0)
    users = annotators_ensure(annotators)
    order = list(Question.objects.filter(is_active=True).order_by("order").values_list("slug", flat=True))
    answerer = _Answerer(error_rate=error_rate, rng=random.Random(seed), order=order)
    report = SimulationReport()
    given: list[tuple[int, str, int, bool]] = []  # (candidate, question slug, annotator, value)
    pending: dict[int, Step | None] = {}
    idle_turns = 0
    turn = 0
    bar = tqdm(total=max_answers, unit="answer", desc="simulate", file=progress or sys.stderr, disable=progress is None)
    started = time.perf_counter()
    try:
        while max_answers is None or len(given) < max_answers:
            user = users[turn % len(users)]
            turn += 1
            step = pending.pop(user.pk, None) or assignment_next(annotator=user)
            if step is None:
                # A full round in which nobody holds or gets a lease: the queue has nothing left for anyone.
                idle_turns += 1
                if idle_turns >= len(users):
                    break
                continue
            idle_turns = 0
            candidate_id = step.assignment.candidate_id
            value = answerer.value(candidate_id, step.question.slug)
            try:
                result = answer_submit(
                    annotator=user,
                    assignment_id=step.assignment.pk,
                    question_slug=step.question.slug,
                    value=value,
                    idempotency_key=uuid.uuid4().hex,
                )
            except Conflict:
                # The question moved on meanwhile (others settled it): a real client asks for the next step.
                report.conflicts += 1
                continue
            given.append((candidate_id, step.question.slug, user.pk, value))
            pending[user.pk] = result.next_step
            bar.update(1)
    finally:
        bar.close()
    if settle_exhausted:
        # What the beat's sweep does on the platform (every minute): a round of answers ends with the candidates
        # that no annotator of the team may see any more settled, so they do not wait in the work in progress.
        report.settled_exhausted += queue_exhausted_settle()
    report.seconds = time.perf_counter() - started
    report.answers = len(given)
    touched = {candidate_id for candidate_id, _slug, _user, _value in given}
    report.touched = len(touched)
    report.labelled = candidate_count(candidate_ids=list(touched), status="labelled")

    by_question: dict[str, list[tuple[Hashable, Hashable, bool]]] = defaultdict(list)
    for candidate_id, slug, user_pk, value in given:
        by_question[slug].append((candidate_id, user_pk, value))
    for slug in Question.objects.order_by("order").values_list("slug", flat=True):
        if slug in by_question:
            report.agreement[slug] = _agreement(by_question[slug])
    if given:
        report.agreement["all"] = _agreement([((c, q), u, v) for c, q, u, v in given])

    correct: dict[str, int] = defaultdict(int)
    compared: dict[str, int] = defaultdict(int)
    labels = ConsolidatedLabel.objects.filter(
        candidate_id__in=touched, value__isnull=False, method__in=[MAJORITY, EXHAUSTED]
    ).values_list("candidate_id", "question__slug", "value")
    for candidate_id, slug, label_value in labels:
        known = answerer.known_labels(candidate_id).get(slug)
        if known is None:
            continue
        for key in (slug, "all"):
            compared[key] += 1
            correct[key] += int(label_value == known)
    report.accuracy = {key: (correct[key], compared[key]) for key in compared}
    _issue_21_figures(report, given, touched, answerer)
    return report


def _issue_21_figures(
    report: SimulationReport, given: list[tuple[int, str, int, bool]], touched: set[int], answerer: _Answerer
) -> None:
    """Gate share, training targets against the truth, stuck and given-up candidates (see the module docstring)."""
    path = _conf_or_default("TARGET_LABELS")
    if not path:
        return
    target_labels = import_string(path)  # the classifiers' rule (annotation sits below classifiers)
    gate_slugs = _gate_conf()[0]
    report.gate_answers = sum(1 for _c, slug, _u, _v in given if slug in gate_slugs)
    methods = ConsolidatedLabel.objects.filter(candidate_id__in=touched).values_list("method", flat=True)
    report.passed_on = sum(1 for method in methods if method == GATE_OPEN)
    report.waived = sum(1 for method in methods if method not in (MAJORITY, EXHAUSTED, GATE_OPEN, "gold"))
    items = QueueItem.objects.filter(candidate_id__in=touched)
    report.stuck = items.filter(state=QueueItem.State.OPEN).count()
    report.given_up = items.exclude(closed_reason="").count()
    slugs = list(Question.objects.filter(is_active=True).order_by("order").values_list("slug", flat=True))
    for target in settings.PLAUSI_CLASSIFIERS["TARGETS"]:
        if target not in slugs:
            continue
        gates_before = slugs[: slugs.index(target)]
        right = compared = 0
        for candidate_id, label in target_labels(target).items():
            if candidate_id not in touched:
                continue
            known = answerer.known_labels(candidate_id)
            if target not in known:
                continue
            truth = bool(known[target]) and all(known.get(slug, True) for slug in gates_before)
            compared += 1
            right += int(bool(label) == truth)
        report.target_accuracy[target] = (right, compared)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = "Simulated annotators answer the annotation queue from known labels through the real services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--answers", type=Path, default=None, help="Ingest-format file with labels, ingested and pooled first."
        )
        parser.add_argument("--annotators", type=int, default=3, help="How many simulated annotators (K).")
        parser.add_argument("--error-rate", type=float, default=0.0, help="Probability of flipping a known label.")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the simulated answers.")
        parser.add_argument("--max-answers", type=int, default=None, help="Stop after this many answers.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--keep-priorities", action="store_true", help="Do not recompute the platform's priorities first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["answers"]
        if path is not None and not path.is_file():
            raise CommandError(f"{path}: no such file.")
        try:
            report = simulate(
                annotators=options["annotators"],
                error_rate=options["error_rate"],
                seed=options["seed"],
                max_answers=options["max_answers"],
                answers_file=path.resolve() if path is not None else None,
                progress=None if options["no_progress"] else cast(IO[str], self.stderr._out),
                keep_priorities=options["keep_priorities"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self._print(report, options)

    def _print(self, report: SimulationReport, options: dict[str, Any]) -> None:
        write = self.stdout.write
        write(
            f"{options['annotators']} simulated annotator(s), error rate {options['error_rate']:.2f}, "
            f"seed {options['seed']}"
        )
        write(f"answers given: {report.answers} in {report.seconds:.2f} s ({report.answers_per_second:.1f} answers/s)")
        if report.conflicts:
            write(f"answers refused because the question had moved on: {report.conflicts}")
        write(
            f"candidates labelled: {report.labelled} of {report.touched} annotated "
            f"({report.touched - report.labelled} still in annotation)"
        )
        write("agreement per question (item = (candidate, question)):")
        write(f"  {'question':<12} {'answers':>8} {'items>=2':>9} {'agreement':>10} {'alpha':>7} {'AC1':>7}")
        for slug, agreement in report.agreement.items():
            write(
                f"  {slug:<12} {agreement.answers:>8} {agreement.items:>9} {_number(agreement.percent):>10} "
                f"{_number(agreement.alpha):>7} {_number(agreement.ac1):>7}"
            )
        write("consolidated labels against known labels:")
        if not report.accuracy:
            write("  no consolidated label has a known label to compare with")
        for slug, (correct, compared) in sorted(report.accuracy.items(), key=lambda entry: entry[0] == "all"):
            write(f"  {slug:<12} {correct}/{compared} correct ({100 * correct / compared:.1f}%)")
        write("issue 21:")
        write(
            f"  answers to gate questions: {report.gate_answers} of {report.answers} ({100 * report.gate_share:.1f}%);"
            f" gate labels passed on {report.passed_on}, waived {report.waived}"
        )
        for target, (correct, compared) in report.target_accuracy.items():
            share = f"{100 * correct / compared:.1f}%" if compared else "-"
            write(f"  training target {target}: {correct}/{compared} correct ({share})")
        write(
            f"  settled with no annotator left: {report.settled_exhausted}; given up with a reason: "
            f"{report.given_up}; stuck (still open): {report.stuck}"
        )
