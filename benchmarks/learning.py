#!/usr/bin/env python
"""The learning benchmark (issue 21): a labelling campaign replayed through the real services, ROC AUC per label.

    flock /tmp/bench.lock python benchmarks/learning.py                       # 4,000 candidates, both orders
    flock /tmp/bench.lock python benchmarks/learning.py --baseline-checkout /work/main   # and main's gate share
    python benchmarks/learning.py --data FILE.jsonl.gz --kind encoder_lr --orders platform
    flock /tmp/bench.lock python benchmarks/learning.py --kind loop --repeats 3  # the loop, 3 seeds per order
    flock /tmp/bench.lock python benchmarks/learning.py --kind loop --max-labels 250 --repeats 8  # the starts only

The labelled file (default: ``benchmarks/learning_data.py``'s seeded set, generated in memory; ``--data``: any
file in the ingest's JSON Lines format with ``labels``, of any kind) is split by behaviour pair (query and
product, or the two products; a ``plain`` line by its head): ``--held-out`` of the groups are only ingested, the
rest is pooled and queued as ordinary candidates (not gold). Held-out lines whose labels do not decide the target
(no label for it, no earlier No) are not scored. A file labelled only for the target (human plausibility
judgements) works: the simulated annotators take its unknown gates as Yes (``simulate_annotators``).

Per queue order, on a fresh PostgreSQL database (``random``: a seeded random permutation set once, with the gates
the pool's record answers waived after each training as the platform does; ``platform``:
``queue_priorities_recompute`` with the active model's inputs after every training):

1. ``simulate_annotators``'s ``simulate`` answers ``--chunk`` answers at a time with ``--annotators`` simulated
   annotators at ``--error-rate`` noise through the real assignment, gates, overlap and consolidation;
2. whenever the training target (``classifiers.selectors.target_labels``) gained ``--retrain-every`` labels, a
   training of ``--target`` with ``--kind`` runs through the services (``training_run_request``, claim,
   execute; its activation's scoring chunks are executed here, in process, instead of on a worker; ``--kind
   loop`` compares every kind the platform's loop compares and promotes as it does); the active version after
   it (the new one when it was promoted) is scored on the held-out candidates: ROC AUC against the truth their
   known labels imply.

Printed: ROC AUC against labels for each order at 250 / 1,000 / 2,000 / all labels (the first training with at
least that many), and per order the accuracy of the per-question labels and of the training target against the
known labels, the share of answers spent on gate questions, the gate labels passed on and waived, and the
candidates stuck (still open) or given up with a reason. ``--baseline-checkout`` also runs that checkout's
``simulate_annotators`` (its own code, e.g. main's) on a random ``--baseline-candidates`` of the queued part in a
database of its own and prints the same answer figures, for the gate share "vs main". Other processes' CPU is
printed (the machine is shared).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GATES = ("complete", "relevant", "informative")
ORDER = ("complete", "relevant", "informative", "plausible", "typical")
BUDGETS = (250, 1000, 2000)


def truth_of(labels: dict[str, bool], target: str) -> bool:
    """The target's truth as the training target defines it: Yes only with every earlier question Yes."""
    before = ORDER[: ORDER.index(target)]
    return bool(labels.get(target)) and all(labels.get(slug, True) for slug in before)


def truth_known(labels: dict[str, bool], target: str) -> bool:
    """Whether the labels decide the target's truth: the target is labelled, or an earlier question is No."""
    before = ORDER[: ORDER.index(target)] if target in ORDER else ()
    return target in labels or any(labels.get(slug) is False for slug in before)


def group_of(line: dict[str, Any]) -> tuple[str, ...]:
    """The group a line is held out with, as the platform groups its folds: its behaviour pair (the normalised
    query and the product; the two products of a co-purchase, in either order), or its head text for a ``plain``
    line (docs/formats.md: the kind defaults as the ingest's do)."""

    def text(value: Any) -> str:
        return " ".join(str(value or "").lower().split())

    kind = line.get("kind") or ("search_buy" if "query" in line else "co_buy" if "other_product" in line else "plain")
    if kind == "search_buy":
        return ("search_buy", text(line.get("query")), str((line.get("product") or {}).get("id")))
    if kind == "co_buy":
        products = sorted(str((line.get(key) or {}).get("id")) for key in ("product", "other_product"))
        return ("co_buy", *products)
    return ("plain", text(line.get("head")))


def split(lines: list[dict[str, Any]], held_out: float, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(queued, held out), grouped (``group_of``): no behaviour pair, or plain head, has lines on both sides."""
    keys = [group_of(line) for line in lines]
    groups = sorted(set(keys))
    random.Random(seed).shuffle(groups)
    out = set(groups[: int(len(groups) * held_out)])
    queued = [line for line, key in zip(lines, keys, strict=True) if key not in out]
    return queued, [line for line, key in zip(lines, keys, strict=True) if key in out]


def write_jsonl(lines: list[dict[str, Any]], path: Path) -> None:
    with gzip.open(path, "wt") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")


def other_cpu_percent(seconds: float = 1.0) -> float:
    """CPU (in % of one core) used by processes that are not this one, over ``seconds``."""

    def totals() -> tuple[float, float]:
        with open("/proc/stat") as handle:
            fields = [float(x) for x in handle.readline().split()[1:]]
        busy = sum(fields) - fields[3] - fields[4]
        own = sum(os.times()[:4])
        return busy / os.sysconf("SC_CLK_TCK"), own

    busy0, own0 = totals()
    time.sleep(seconds)
    busy1, own1 = totals()
    return max(0.0, ((busy1 - busy0) - (own1 - own0)) / seconds * 100)


def database_reset(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ingest_only(path: Path) -> list[int]:
    from annotation.management.commands.simulate_annotators import file_candidate_ids
    from knowledge.services import IngestFileSpec, ingest_run_claim, ingest_run_create, ingest_run_execute

    run = ingest_run_create(files=[IngestFileSpec(path=path, name=path.name)], source="cli")
    ingest_run_claim(run_id=run.pk)
    run = ingest_run_execute(run_id=run.pk)
    if run.status != "succeeded":
        raise RuntimeError(f"ingest failed: {run.message}")
    return file_candidate_ids(path)


def train(target: str, kind: str) -> Any:
    """A training through the services; its activation's scoring chunks run here. Returns the new version."""
    from classifiers.models import ModelVersion, ScoringChunk, TrainingRun
    from classifiers.services import training_run_claim, training_run_execute, training_run_request
    from classifiers.services.scoring import scoring_chunk_claim, scoring_chunk_execute

    run = training_run_request(target=target, kind=None if kind == "loop" else kind, trigger=TrainingRun.Trigger.MANUAL)
    if run is None:
        return None
    training_run_claim(run_id=run.pk, claimer="bench")
    run = training_run_execute(run_id=run.pk)
    if run.status != "succeeded":
        print(f"  training failed: {run.message}", flush=True)
        return None
    # The version the platform now uses: the new one when it was promoted, else the one it did not beat.
    version = ModelVersion.objects.filter(target=target, is_active=True).first()
    for chunk_id in ScoringChunk.objects.filter(status="pending").values_list("pk", flat=True):
        if scoring_chunk_claim(chunk_id=chunk_id, claimer="bench"):
            scoring_chunk_execute(chunk_id=chunk_id, claimer="bench")
    return version


def held_out_auc(version: Any, ids: list[int], truth: dict[int, bool]) -> float | None:
    import numpy as np

    from classifiers.ml import metrics
    from classifiers.ml.data import Batch
    from classifiers.ml.models import load_model
    from classifiers.selectors import candidate_examples
    from classifiers.services.common import conf, with_caches

    examples = candidate_examples(ids)
    order = sorted(examples)
    model = with_caches(load_model(Path(conf("MODEL_ROOT")) / version.artifact))
    scores = model.predict_proba(Batch([examples[i] for i in order]))
    y = np.array([int(truth[i]) for i in order])
    return metrics.roc_auc(y, scores)


def answer_figures(rows: dict[str, Any]) -> str:
    lines = [
        f"    answers {rows['answers']:,}, to gate questions {rows['gate_answers']:,} "
        f"({100 * rows['gate_answers'] / max(rows['answers'], 1):.1f}%)",
        f"    per-question labels (from answers) correct: {rows['question_right']}/{rows['question_compared']} "
        f"({100 * rows['question_right'] / max(rows['question_compared'], 1):.1f}%)",
        "    per question: "
        + ", ".join(
            f"{slug} {100 * right / max(total, 1):.1f}% of {total}"
            for slug, (right, total) in sorted(rows["per_slug"].items(), key=lambda entry: ORDER.index(entry[0]))
        ),
        f"    training target correct: {rows['target_right']}/{rows['target_compared']} "
        f"({100 * rows['target_right'] / max(rows['target_compared'], 1):.1f}%)",
        f"    wrong training targets that came from a gate No: {rows['wrong_from_gate']}",
        f"    candidates labelled {rows['labelled']}, stuck (open, annotated) {rows['stuck']}, "
        f"given up with a reason {rows['given_up']}; gate labels passed on {rows['passed_on']}, "
        f"waived {rows['waived']}",
    ]
    return "\n".join(lines)


def figures_from(cursor: Any, target: str) -> dict[str, Any]:
    """Answer and label figures read with plain SQL (so that they read another checkout's database too)."""
    cursor.execute(
        "SELECT q.slug, count(*) FROM annotation_answer a JOIN annotation_question q ON q.id = a.question_id "
        "GROUP BY q.slug"
    )
    per_question = dict(cursor.fetchall())
    cursor.execute(
        "SELECT l.candidate_id, q.slug, l.value, l.method, c.known_labels FROM annotation_consolidatedlabel l "
        "JOIN annotation_question q ON q.id = l.question_id JOIN knowledge_candidate c ON c.id = l.candidate_id"
    )
    right = compared = passed_on = waived = 0
    per_slug: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_candidate: dict[int, dict[str, bool | None]] = defaultdict(dict)
    known_of: dict[int, dict[str, bool]] = {}
    for candidate_id, slug, value, method, known in cursor.fetchall():
        known = known if isinstance(known, dict) else json.loads(known or "{}")
        known_of[candidate_id] = known
        passed_on += method == "gate_open"
        waived += method == "waived"
        if value is not None:
            by_candidate[candidate_id][slug] = bool(value)
        if method in ("majority", "exhausted") and value is not None and slug in known:
            compared += 1
            right += int(bool(value) == bool(known[slug]))
            per_slug[slug][0] += int(bool(value) == bool(known[slug]))
            per_slug[slug][1] += 1
    target_right = target_compared = wrong_from_gate = 0
    for candidate_id, labels in by_candidate.items():  # classifiers.selectors.target_labels' rule
        before = ORDER[: ORDER.index(target) + 1]
        decided = {slug: value for slug, value in labels.items() if slug in before}
        if any(value is False for value in decided.values()):
            label = False
        elif decided.get(target) is True:
            label = True
        else:
            continue
        truth = truth_of(known_of[candidate_id], target)
        target_compared += 1
        target_right += int(label == truth)
        if label != truth and any(labels.get(gate) is False for gate in GATES):
            wrong_from_gate += 1
    cursor.execute(
        "SELECT count(*) FILTER (WHERE q.state = 'open' AND EXISTS (SELECT 1 FROM annotation_assignment a "
        "WHERE a.candidate_id = q.candidate_id)), count(*) FILTER (WHERE c.status = 'labelled') "
        "FROM annotation_queueitem q JOIN knowledge_candidate c ON c.id = q.candidate_id"
    )
    stuck, labelled = cursor.fetchone()
    try:
        cursor.execute("SELECT count(*) FROM annotation_queueitem WHERE closed_reason <> ''")
        given_up = cursor.fetchone()[0]
    except Exception:  # an older checkout has no closed_reason
        given_up = "n/a"
    return {
        "answers": sum(per_question.values()),
        "gate_answers": sum(per_question.get(gate, 0) for gate in GATES),
        "question_right": right,
        "per_slug": {slug: tuple(pair) for slug, pair in per_slug.items()},
        "question_compared": compared,
        "target_right": target_right,
        "target_compared": target_compared,
        "wrong_from_gate": wrong_from_gate,
        "stuck": stuck,
        "labelled": labelled,
        "given_up": given_up,
        "passed_on": passed_on,
        "waived": waived,
    }


def campaign(
    order: str, args: argparse.Namespace, queued: Path, held: Path, database: str, *, seed: int
) -> dict[str, Any]:
    """One labelling campaign in ``order``; ``seed`` draws the random order, the platform's random terms and the
    simulated annotators' answers (the data and the split stay those of ``--seed``)."""
    from django.db import connection

    from annotation.management.commands.simulate_annotators import candidates_load, priorities_recompute, simulate
    from annotation.models import QueueItem
    from annotation.priorities import queue_gates_waive
    from classifiers.selectors import target_labels
    from core.bulk import rows_set_column
    from knowledge.models import Candidate

    database_reset(database)
    started = time.perf_counter()
    held_ids = ingest_only(held)
    candidates_load(queued)
    truth = {  # held-out candidates whose labels decide the target (a line without its label is not scored)
        candidate_id: truth_of(known or {}, args.target)
        for candidate_id, known in Candidate.objects.filter(pk__in=held_ids).values_list("pk", "known_labels")
        if truth_known(known or {}, args.target)
    }
    ids: list[int] = []
    if order == "random":
        ids = list(QueueItem.objects.order_by("candidate_id").values_list("candidate_id", flat=True))
        random.Random(seed).shuffle(ids)
        rows_set_column(
            table="annotation_queueitem",
            key="candidate_id",
            column="priority",
            sql_type="double precision",
            rows=[(candidate_id, float(len(ids) - position)) for position, candidate_id in enumerate(ids)],
        )
    else:
        priorities_recompute(seed=seed)
    curve: list[tuple[int, float | None]] = []
    trained_at = 0
    round_no = 0
    while True:
        round_no += 1
        report = simulate(
            annotators=args.annotators,
            error_rate=args.error_rate,
            seed=seed * 1000 + round_no,
            max_answers=args.chunk,
            keep_priorities=True,
        )
        labels = len(target_labels(args.target))
        finished = report.answers == 0
        if labels - trained_at >= args.retrain_every or (finished and labels > trained_at):
            version = train(args.target, args.kind)
            trained_at = labels
            if version is not None:
                auc = held_out_auc(version, sorted(truth), truth)
                curve.append((version.label_count, auc))
                print(
                    f"  [{order}] {version.label_count:>5} labels: held-out ROC AUC {auc:.3f} (active: {version.kind})",
                    flush=True,
                )
                if order == "platform":
                    priorities_recompute(seed=seed + round_no)
                else:  # the order stays random; the gates the record answers are waived as on the platform
                    queue_gates_waive(scores=None, order=ids)
        if finished or (args.max_labels and trained_at >= args.max_labels):
            break
    with connection.cursor() as cursor:
        figures = figures_from(cursor, args.target)
    figures["curve"] = curve
    figures["seconds"] = time.perf_counter() - started
    return figures


def baseline(checkout: Path, queued: Path, args: argparse.Namespace, database: str) -> dict[str, Any]:
    """That checkout's simulate_annotators on the queued part, in a database of its own; its answer figures."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
    }
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=checkout, env=env, check=True)
    command = [python, "manage.py", "simulate_annotators", "--answers", str(queued), "--annotators"]
    command += [str(args.annotators), "--error-rate", str(args.error_rate), "--seed", str(args.seed), "--no-progress"]
    started = time.perf_counter()
    subprocess.run(command, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=database) as conn, conn.cursor() as cursor:
        figures = figures_from(cursor, args.target)
    figures["seconds"] = time.perf_counter() - started
    return figures


def auc_at(curve: list[tuple[int, float | None]], budget: int | None) -> str:
    if not curve:
        return "-"
    if budget is None:
        labels, auc = curve[-1]
    else:
        found = [(labels, auc) for labels, auc in curve if labels >= budget]
        if not found:
            return "-"
        labels, auc = found[0]
    return "-" if auc is None else f"{auc:.3f} ({labels})"


def auc_value(curve: list[tuple[int, float | None]], budget: int | None) -> float | None:
    """The AUC of the first training with at least ``budget`` labels (the last one for None)."""
    found = [auc for labels, auc in curve if budget is None or labels >= budget]
    if not found:
        return None
    return found[-1] if budget is None else found[0]


def print_repeats(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Per budget: each order's mean AUC over its runs, each run's AUC, and where there are two orders the
    second's lead over the first in how many of the runs (run i of one order against run i of the other: the
    same seed)."""
    orders = list(runs)
    width = max(26, 6 * max(len(found) for found in runs.values()) + 2)
    print(f"  {'labels':<8}" + "".join(f"{order + ' (mean)':>18}{'runs':>{width}}" for order in orders))
    for budget in (*BUDGETS, None):
        cells = ""
        values = {}
        for order in orders:
            values[order] = [auc_value(run["curve"], budget) for run in runs[order]]
            known = [v for v in values[order] if v is not None]
            mean = f"{sum(known) / len(known):.3f}" if known else "-"
            each = " ".join("-" if v is None else f"{v:.3f}" for v in values[order])
            cells += f"{mean:>18}{each:>{width}}"
        line = f"  {'all' if budget is None else f'{budget:,}':<8}{cells}"
        if len(orders) == 2:
            pairs = [(a, b) for a, b in zip(*values.values(), strict=True) if a is not None and b is not None]
            if pairs:
                lead = sum(b - a for a, b in pairs) / len(pairs)
                wins = sum(b > a for a, b in pairs)
                line += f"   {orders[1]} - {orders[0]}: {lead:+.3f}, ahead in {wins} of {len(pairs)}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="Labelled ingest file (default: generated).")
    parser.add_argument("--candidates", type=int, default=4000, help="Size of the generated set.")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--held-out", type=float, default=0.3, help="Share of behaviour pairs held out.")
    parser.add_argument("--orders", default="random,platform")
    parser.add_argument(
        "--kind",
        default="tfidf_lr",
        help="The model kind trained after each round; 'loop': every kind the platform's loop compares "
        "(CLASSIFIER_KINDS=auto: tfidf_lr, and encoder_lr and mean_lr where the encoder can run), the best promoted.",
    )
    parser.add_argument(
        "--loop-kinds",
        default="auto",
        help="With --kind loop: the kinds the loop compares (CLASSIFIER_KINDS), e.g. tfidf_lr,encoder_lr",
    )
    parser.add_argument("--target", default="plausible")
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--error-rate", type=float, default=0.1)
    parser.add_argument("--chunk", type=int, default=150, help="Answers between looks at the label count.")
    parser.add_argument("--retrain-every", type=int, default=250, help="New training-target labels per training.")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="Campaigns per order, each with its own seed for the orders and the annotators (the data and the split "
        "stay); the table prints the mean, each run's figures follow. A held-out AUC of one run varies by about 0.02 "
        "at 250 labels.",
    )
    parser.add_argument(
        "--run-seeds",
        default=None,
        help="The runs' seeds instead of --seed + 1000 * repeat, e.g. 2021 to redo the third run alone.",
    )
    parser.add_argument(
        "--max-labels",
        type=int,
        default=0,
        help="End each campaign after its first training with at least this many labels (e.g. 250, to compare the "
        "orders' starts over many seeds); the answer figures then cover that part. 0: run to the end.",
    )
    parser.add_argument("--database", default="plausi_bench_learning")
    parser.add_argument("--baseline-checkout", type=Path, default=None, help="e.g. /work/main")
    parser.add_argument(
        "--baseline-candidates", type=int, default=1000, help="The baseline annotates this many of the queued part."
    )
    args = parser.parse_args()
    for option, value, least in (
        ("--candidates", args.candidates, 1),
        ("--annotators", args.annotators, 1),
        ("--chunk", args.chunk, 1),
        ("--retrain-every", args.retrain_every, 1),
        ("--repeats", args.repeats, 1),
        ("--max-labels", args.max_labels, 0),
        ("--baseline-candidates", args.baseline_candidates, 1),
    ):
        if value < least:
            parser.error(f"{option} must be at least {least} (got {value})")
    if not 0.0 < args.held_out < 1.0:
        parser.error(f"--held-out must be between 0 and 1 (got {args.held_out})")
    if not 0.0 <= args.error_rate <= 1.0:
        parser.error(f"--error-rate must be between 0 and 1 (got {args.error_rate})")

    from benchmarks.annotation_load import _django_setup
    from benchmarks.learning_data import generate

    var = ROOT / "var" / "bench-learning"
    var.mkdir(parents=True, exist_ok=True)
    os.environ["PLAUSI_MODEL_ROOT"] = str(var / "models")
    os.environ["PLAUSI_FEATURE_ROOT"] = str(var / "features")
    os.environ.setdefault("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    if args.kind == "loop":
        os.environ["CLASSIFIER_KINDS"] = args.loop_kinds  # auto: the production default (the tests: tfidf_lr only)
    _django_setup(f"postgres://postgres@127.0.0.1:5432/{args.database}")
    import core.outbox

    core.outbox.outbox_send = lambda **kwargs: 0  # work runs here, not on workers

    if args.data is not None:
        with gzip.open(args.data, "rt") if args.data.suffix == ".gz" else args.data.open() as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
    else:
        lines = generate(candidates=args.candidates, seed=args.seed)
    queued_lines, held_lines = split(lines, args.held_out, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="plausi-bench-learning-"))
    queued, held = folder / "queued.jsonl.gz", folder / "held_out.jsonl.gz"
    write_jsonl(queued_lines, queued)
    write_jsonl(held_lines, held)
    print(
        f"data: {len(lines):,} candidates, {len(queued_lines):,} queued, {len(held_lines):,} held out "
        f"(grouped by behaviour pair, or head); {args.annotators} annotators at {args.error_rate:.0%} noise; kind "
        f"{args.kind}; other processes' CPU {other_cpu_percent():.0f}% of a core",
        flush=True,
    )
    orders = [name.strip() for name in args.orders.split(",") if name.strip()]
    runs: dict[str, list[dict[str, Any]]] = {order: [] for order in orders}
    seeds = (
        [int(seed) for seed in args.run_seeds.split(",")]
        if args.run_seeds
        else [args.seed + 1000 * repeat for repeat in range(args.repeats)]
    )
    for repeat, seed in enumerate(seeds):
        for order in orders:
            runs[order].append(campaign(order, args, queued, held, args.database, seed=seed))
            print(f"  [{order}] run {repeat + 1} (seed {seed}) done in {runs[order][-1]['seconds']:.0f} s", flush=True)
    results = {order: found[0] for order, found in runs.items()}
    base = None
    if args.baseline_checkout is not None:
        sample = random.Random(args.seed).sample(queued_lines, min(args.baseline_candidates, len(queued_lines)))
        base_file = folder / "baseline.jsonl.gz"
        write_jsonl(sample, base_file)
        print(f"baseline: {args.baseline_checkout}'s simulate_annotators on {len(sample):,} of the queued", flush=True)
        base = baseline(args.baseline_checkout, base_file, args, args.database + "_baseline")
    print(f"\nROC AUC on the held-out split ({args.target}), by training-target labels (labels of that training):")
    if len(seeds) > 1:
        print_repeats(runs)
    else:
        header = f"  {'labels':<8}" + "".join(f"{order:>22}" for order in results)
        print(header)
        for budget in (*BUDGETS, None):
            cells = "".join(f"{auc_at(result['curve'], budget):>22}" for result in results.values())
            print(f"  {'all' if budget is None else f'{budget:,}':<8}{cells}")
    for order, result in results.items():
        print(f"\n  {order} order, run 1 ({result['seconds']:.0f} s):")
        print(answer_figures(result))
    if base is not None:
        where = f"{args.baseline_checkout}'s simulate_annotators on a sample of the queued part"
        print(f"\n  {where} ({base['seconds']:.0f} s):")
        print(answer_figures(base))
        for order, result in results.items():
            share = result["gate_answers"] / max(result["answers"], 1)
            base_share = base["gate_answers"] / max(base["answers"], 1)
            print(f"  gate share, {order} order vs baseline: {100 * share:.1f}% vs {100 * base_share:.1f}%")
    print(f"\nother processes' CPU at the end: {other_cpu_percent():.0f}% of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
