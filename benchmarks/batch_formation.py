#!/usr/bin/env python
"""Batch formation benchmark (issue 20): how many batches and audit answers it takes to decide a pool of 100,000
scored candidates at 90% precision with 95% confidence, with the new formation versus the rule before it.

    python benchmarks/batch_formation.py                    # 100,000 candidates, 3 seeds
    python benchmarks/batch_formation.py --pool 1000000 --seeds 1

A documented simulation, pure Python, no database: the plans come from the very functions the service uses
(``curation.formation.batches_plan`` and, for the old rule, ``legacy_batches_plan``), the estimates from
``curation.maths``. The pool:

- 15 relations and 400 categories, each candidate's drawn from Zipf-like weights (1 / rank^1.1), so a few
  strata are large and most are tiny;
- lowest target scores skewed high: 0.5 + 0.5 * Beta(5, 1) (mean 0.92), cut by the bands 0.8 / 0.9 / 0.95;
- a true precision per relation x category, Beta(40, 1.5) (mean 0.96), except 5% of them that are bad
  (uniform 0.55-0.80); lower bands are worse (-0.10, -0.04, -0.01, 0 from the lowest band up);
- each audited candidate is right with its stratum's true precision.

A batch is approved when the 95% lower bound of its precision is at least 0.90. With the new formation a batch
that misses it is approved without its strata whose estimate is under 0.90 when the kept strata's lower bound
reaches 0.90; otherwise it is rejected (everything back to the pool). "Today" is the old rule read the old way (a
plain Wilson interval on Yes / audited, which never reaches 0.90 on a batch of fewer than 35 candidates however
many are audited); "old rule + new estimate" separates the grouping's effect from the estimate's.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curation.formation import (  # noqa: E402
    PlannedBatch,
    StratumKey,
    batches_plan,
    legacy_batches_plan,
    strata_sizes,
)
from curation.maths import stratified_estimate, wilson_interval  # noqa: E402

BANDS = [0.0, 0.8, 0.9, 0.95, 1.0]
BAND_PENALTY = [0.10, 0.04, 0.01, 0.0]
BAR = 0.90
SETTINGS = {"target_size": 5_000, "max_size": 7_500, "half_width": 0.05, "min_stratum_size": 200, "min_audit": 20}
OLD_MAX_SIZE = 2_000


def zipf_weights(count: int, exponent: float = 1.1) -> list[float]:
    return [1 / (rank**exponent) for rank in range(1, count + 1)]


def make_pool(size: int, rng: random.Random) -> tuple[dict[StratumKey, int], dict[StratumKey, float]]:
    relations, categories = list(range(1, 16)), list(range(1, 401))
    rel = rng.choices(relations, weights=zipf_weights(len(relations)), k=size)
    cat = rng.choices(categories, weights=zipf_weights(len(categories)), k=size)
    scores = [0.5 + 0.5 * rng.betavariate(5, 1) for _ in range(size)]
    sizes = strata_sizes(zip(rel, cat, scores, strict=True), BANDS)
    base: dict[tuple[int, int | None], float] = {}
    for r in relations:
        for c in categories:
            base[(r, c)] = rng.uniform(0.55, 0.80) if rng.random() < 0.05 else rng.betavariate(40, 1.5)
    truth = {key: max(0.0, base[(key[0], key[1])] - BAND_PENALTY[key[2]]) for key in sizes}
    return sizes, truth


@dataclass
class Outcome:
    batches: int = 0
    answers: int = 0
    approved_whole: int = 0
    approved_with_exclusions: int = 0
    rejected: int = 0
    accepted: int = 0
    accepted_right: float = 0.0
    bad_strata_sent_back: int = 0  # base strata under the bar whose candidates were not accepted
    bad_strata_accepted: int = 0


def audit(batch: PlannedBatch, truth: dict[StratumKey, float], rng: random.Random) -> list[tuple[int, int, int]]:
    """(N_h, yes_h, no_h) per stratum: the audit sample drawn at random over the stratum's parts."""
    answers = []
    for stratum in batch.strata:
        yes = 0
        for index in rng.sample(range(stratum.size), stratum.audit_size):
            for part in stratum.parts:
                if index < part.size:
                    yes += rng.random() < truth[part.key]
                    break
                index -= part.size
        answers.append((stratum.size, yes, stratum.audit_size - yes))
    return answers


def simulate(plan: list[PlannedBatch], truth: dict[StratumKey, float], rng: random.Random, *, rule: str) -> Outcome:
    out = Outcome(batches=len(plan), answers=sum(batch.audit_size for batch in plan))
    for batch in plan:
        answers = audit(batch, truth, rng)
        if rule == "today":
            yes, n = sum(a[1] for a in answers), sum(a[1] + a[2] for a in answers)
            low = wilson_interval(yes, n)[0]
        else:
            low = stratified_estimate(answers)["wilson_low"] or 0.0
        kept = list(range(len(batch.strata)))
        if low < BAR and rule == "new":
            kept = [i for i, (_n, y, no) in enumerate(answers) if y / max(1, y + no) >= BAR]
            low = (stratified_estimate([answers[i] for i in kept])["wilson_low"] or 0.0) if kept else 0.0
            if low >= BAR:
                out.approved_with_exclusions += 1
        elif low >= BAR:
            out.approved_whole += 1
        if low < BAR:
            out.rejected += 1
            kept = []
        accepted_parts = [part for i in kept for part in batch.strata[i].parts]
        returned_parts = [p for i, s in enumerate(batch.strata) if i not in kept for p in s.parts]
        out.accepted += sum(part.size for part in accepted_parts)
        out.accepted_right += sum(part.size * truth[part.key] for part in accepted_parts)
        out.bad_strata_accepted += len({p.key for p in accepted_parts if truth[p.key] < BAR})
        out.bad_strata_sent_back += len({p.key for p in returned_parts if truth[p.key] < BAR})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[Outcome]] = {}
    plan_seconds = 0.0
    for seed in range(1, args.seeds + 1):
        rng = random.Random(seed)
        sizes, truth = make_pool(args.pool, rng)
        started = time.perf_counter()
        new = batches_plan(sizes, **SETTINGS)  # type: ignore[arg-type]
        plan_seconds += time.perf_counter() - started
        old = legacy_batches_plan(sizes, max_size=OLD_MAX_SIZE, half_width=SETTINGS["half_width"])
        bad = sum(size for key, size in sizes.items() if truth[key] < BAR)
        true_good = sum(size * truth[key] for key, size in sizes.items() if truth[key] >= BAR)
        if seed == 1:
            print(
                f"pool {args.pool:,}: {len(sizes):,} relation x category x band strata "
                f"({sum(1 for s in sizes.values() if s < 10):,} under 10 candidates); "
                f"{bad:,} candidates ({bad / args.pool:.1%}) in strata whose true precision is under {BAR:.0%}; "
                f"{true_good:,.0f} right candidates in the good strata"
            )
        for name, plan, rule in (
            ("today: old rule, Wilson on Yes/audited", old, "today"),
            ("old rule + new estimate", old, "old"),
            ("new formation (+ exclusions)", new, "new"),
        ):
            rows.setdefault(name, []).append(simulate(plan, truth, random.Random(seed * 7919), rule=rule))
    print(f"mean over {args.seeds} seed(s); approve when the 95% lower bound >= {BAR:.2f}")
    header = (
        f"{'rule':<40} {'batches':>8} {'answers':>8} {'ans/1k':>7} {'whole':>6} {'w/excl':>6} {'rejected':>8} "
        f"{'accepted':>9} {'precision':>9} {'bad strata back':>15} {'bad accepted':>12}"
    )
    print(header)
    print("-" * len(header))
    for name, outcomes in rows.items():

        def mean(field: str, outcomes: list[Outcome] = outcomes) -> float:
            return sum(getattr(o, field) for o in outcomes) / len(outcomes)

        precision = mean("accepted_right") / mean("accepted") if mean("accepted") else 0.0
        print(
            f"{name:<40} {mean('batches'):>8,.0f} {mean('answers'):>8,.0f} "
            f"{1000 * mean('answers') / args.pool:>7.1f} {mean('approved_whole'):>6,.0f} "
            f"{mean('approved_with_exclusions'):>6,.0f} {mean('rejected'):>8,.0f} {mean('accepted'):>9,.0f} "
            f"{precision:>9.3f} {mean('bad_strata_sent_back'):>15,.0f} {mean('bad_strata_accepted'):>12,.0f}"
        )
    print(f"planning the new formation: {1000 * plan_seconds / args.seeds:.0f} ms per pool")


if __name__ == "__main__":
    main()
