"""Forming review batches for a curator's day. Pure Python, no Django: the batching service, the queue selector and
``benchmarks/batch_formation.py`` all plan with these functions, so the benchmark measures what the service does.

The unit of the plan is a *base stratum*: the scored candidates of one relation and one category (``None``: the
product has none) within one score band, sorted by score, highest first. Planning needs only each base
stratum's size, so it runs on a ``GROUP BY`` of the pool (a few thousand rows), never on a million candidates; the
service then cuts each base stratum's sorted member list by the planned ranges.

The plan, in order (``batches_plan``):

1. **Audit strata.** A stratum is what gets its own slice of the audit sample and its own line in the batch's
   breakdown. A base stratum smaller than ``min_stratum_size`` merges with the neighbouring score band of its
   category (bands first); a category still smaller than that merges with other small categories of its relation
   into one "small categories" stratum (categories second). Tiny strata would each cost a minimum audit and
   could not show anything with a handful of answers; merged, they are checked together.
2. **Batches.** Within one relation (every relation together only when ``across_relations`` is asked for), strata
   are laid out category by category, largest category first, bands from high to low, and cut into batches of
   ``target_size``: a stratum that crosses the cut is split (both parts at least ``min_stratum_size``), and a last
   batch under half the target joins the one before (never past ``max_size``).
3. **Audit allocation.** A batch of N gets the audit sample sized for the target half-width
   (``audit_sample_size``), shared out in proportion to stratum size (a self-weighting sample: the stratified
   estimate then has no design effect) with at least ``min_audit`` per stratum (or the whole stratum when it is
   smaller), so every merged stratum is checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from curation.maths import audit_sample_size

StratumKey = tuple[int, int | None, int]  # relation id, category id (None: none), score band index


def score_band(score: float, bands: Sequence[float]) -> int:
    """The index of the band ``[bands[i], bands[i + 1])`` that holds ``score`` (the last band includes 1.0; a
    score under the first edge is in band 0)."""
    index = 0
    for i in range(len(bands) - 1):
        if score >= bands[i]:
            index = i
    return index


@dataclass(frozen=True)
class Part:
    """Members ``[start, stop)`` of a base stratum, in score order (highest first)."""

    key: StratumKey
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass
class PlannedStratum:
    """One audit stratum of a planned batch: parts of one relation's base strata (adjacent bands of one category,
    or several small categories), and its share of the audit sample."""

    parts: list[Part]
    audit_size: int = 0

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)

    @property
    def relation(self) -> int:
        return self.parts[0].key[0]

    @property
    def categories(self) -> list[int | None]:
        return list(dict.fromkeys(part.key[1] for part in self.parts))

    @property
    def bands(self) -> list[int]:
        return sorted({part.key[2] for part in self.parts})


@dataclass
class PlannedBatch:
    strata: list[PlannedStratum] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(stratum.size for stratum in self.strata)

    @property
    def audit_size(self) -> int:
        return sum(stratum.audit_size for stratum in self.strata)


def audit_allocate(sizes: Sequence[int], total: int, *, minimum: int) -> list[int]:
    """Audit items per stratum: ``ceil(total * N_h / N)`` (proportional), at least ``minimum``, at most ``N_h``.
    The sum is ``total`` or a little more (the minimums and the rounding up only add)."""
    population = sum(sizes)
    if population == 0:
        return [0 for _ in sizes]
    return [min(size, max(minimum, math.ceil(total * size / population))) for size in sizes]


def _split(parts: list[Part], count: int) -> tuple[list[Part], list[Part]]:
    """The first ``count`` members of a run of parts, and the rest."""
    head: list[Part] = []
    rest: list[Part] = []
    left = count
    for part in parts:
        if left >= part.size:
            head.append(part)
            left -= part.size
        elif left > 0:
            head.append(Part(part.key, part.start, part.start + left))
            rest.append(Part(part.key, part.start + left, part.stop))
            left = 0
        else:
            rest.append(part)
    return head, rest


def _audit_strata(sizes: Mapping[StratumKey, int], relation: int, min_size: int) -> list[list[Part]]:
    """One relation's audit strata, in batch order (see the module docstring, step 1)."""
    by_category: dict[int | None, list[int]] = {}
    for (rel, category, band), size in sizes.items():
        if rel == relation and size > 0:
            by_category.setdefault(category, []).append(band)
    totals = {category: sum(sizes[(relation, category, b)] for b in bands) for category, bands in by_category.items()}
    order = sorted(by_category, key=lambda c: (-totals[c], -1 if c is None else c))
    strata: list[list[Part]] = []
    small: list[list[Part]] = []
    for category in order:
        units: list[list[Part]] = []
        for band in sorted(by_category[category], reverse=True):
            key = (relation, category, band)
            part = Part(key, 0, sizes[key])
            if units and sum(p.size for p in units[-1]) < min_size:
                units[-1].append(part)
            else:
                units.append([part])
        if len(units) > 1 and sum(p.size for p in units[-1]) < min_size:
            units[-2].extend(units.pop())
        if totals[category] < min_size:
            small.extend(units)
        else:
            strata.extend(units)
    pooled: list[list[Part]] = []
    for unit in small:
        if pooled and sum(p.size for p in pooled[-1]) < min_size:
            pooled[-1].extend(unit)
        else:
            pooled.append(list(unit))
    if len(pooled) > 1 and sum(p.size for p in pooled[-1]) < min_size:
        pooled[-2].extend(pooled.pop())
    return strata + pooled


def batches_plan(
    sizes: Mapping[StratumKey, int],
    *,
    target_size: int,
    max_size: int,
    half_width: float,
    min_stratum_size: int,
    min_audit: int,
    across_relations: bool = False,
) -> list[PlannedBatch]:
    """Plan the batches of a pool given the size of each base stratum (see the module docstring)."""
    if target_size < 1 or max_size < target_size:
        raise ValueError("need 1 <= target_size <= max_size")
    relations = sorted({key[0] for key, size in sizes.items() if size > 0})
    scopes: list[list[list[Part]]] = [_audit_strata(sizes, r, min_stratum_size) for r in relations]
    if across_relations:
        scopes = [[stratum for scope in scopes for stratum in scope]]
    planned: list[PlannedBatch] = []
    for scope in scopes:
        batches: list[PlannedBatch] = [PlannedBatch()]
        for parts in scope:
            rest = parts
            while rest:
                current = batches[-1]
                room = target_size - current.size
                left = sum(p.size for p in rest)
                if left <= room or (left - room < min_stratum_size and current.size + left <= max_size):
                    current.strata.append(PlannedStratum(rest))
                    rest = []
                elif room >= min_stratum_size:
                    head, rest = _split(rest, room)
                    current.strata.append(PlannedStratum(head))
                elif current.strata:
                    batches.append(PlannedBatch())
                    continue
                else:  # an empty batch with less room than a stratum's minimum: the target is tiny
                    head, rest = _split(rest, max(room, 1))
                    current.strata.append(PlannedStratum(head))
                if batches[-1].size >= target_size:
                    batches.append(PlannedBatch())
        batches = [batch for batch in batches if batch.strata]
        if len(batches) > 1 and batches[-1].size < target_size / 2 and batches[-2].size + batches[-1].size <= max_size:
            _join(batches[-2], batches.pop())
        planned.extend(batches)
    for batch in planned:
        total = audit_sample_size(batch.size, half_width)
        for stratum, audit in zip(
            batch.strata, audit_allocate([s.size for s in batch.strata], total, minimum=min_audit), strict=True
        ):
            stratum.audit_size = audit
    return planned


def _join(batch: PlannedBatch, last: PlannedBatch) -> None:
    """Append ``last``'s strata to ``batch``; a stratum split at the cut between them becomes one again."""
    strata = list(last.strata)
    tail, head = batch.strata[-1].parts[-1], strata[0].parts[0]
    if tail.key == head.key and tail.stop == head.start:
        joined = [*batch.strata[-1].parts[:-1], Part(tail.key, tail.start, head.stop), *strata[0].parts[1:]]
        batch.strata[-1] = PlannedStratum(joined)
        strata = strata[1:]
    batch.strata.extend(strata)


def legacy_batches_plan(sizes: Mapping[StratumKey, int], *, max_size: int, half_width: float) -> list[PlannedBatch]:
    """The rule before issue 20, for comparison: one batch per base stratum, cut at ``max_size``, each audited
    for the half-width on its own."""
    planned = []
    for key in sorted(sizes, key=lambda k: (k[0], -1 if k[1] is None else k[1], -k[2])):
        for start in range(0, sizes[key], max_size):
            part = Part(key, start, min(sizes[key], start + max_size))
            planned.append(PlannedBatch([PlannedStratum([part], audit_sample_size(part.size, half_width))]))
    return planned


def strata_sizes(rows: Iterable[tuple[int, int | None, float]], bands: Sequence[float]) -> dict[StratumKey, int]:
    """Base stratum sizes of (relation, category, lowest score) rows."""
    sizes: dict[StratumKey, int] = {}
    for relation, category, score in rows:
        key = (relation, category, score_band(score, bands))
        sizes[key] = sizes.get(key, 0) + 1
    return sizes
