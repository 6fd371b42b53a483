"""Annotation priorities, recomputed in bulk: query specificity, support, classifier uncertainty, strata, and which
candidates' gates the classifier answers (issue 21).

COSMO asks about broad, ambiguous queries first (their explanations are the most valuable): a query's
specificity is 1 - the entropy of the categories bought after it (normalised), stored on ``SearchQuery``. Each
queued candidate's breadth and support terms, the active model's uncertainty (a random draw until the model beats
chance), its relation/category stratum and its behaviour pair go to ``annotation.maths.selection.queue_order_columns``,
which interleaves the strata, spreads the picks over behaviour pairs and mixes in a random share; the stored
priority is the position from the end (higher is asked sooner). The weights are
``PLAUSI_ANNOTATION["PRIORITY_WEIGHTS"]``; see docs/annotation.md.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Now
from django.utils.module_loading import import_string

from annotation.maths.overlap import EXHAUSTED, GATE_OPEN, MAJORITY, WAIVED
from annotation.maths.selection import gate_record_confident, gate_sampled, gates_confident, queue_order_columns
from annotation.maths.specificity import priority, query_specificity
from annotation.models import Answer, ConsolidatedLabel, Question, QueueItem
from annotation.services.common import _conf_or_default
from core.bulk import float_column_set, key_values_copy
from core.statistics import tables_analyze_after_change
from knowledge.services import search_query_specificity_set

#: Defaults for the keys issue 21 added to ``PLAUSI_ANNOTATION`` (a settings dict without them keeps working).
SELECTION_DEFAULTS: dict[str, Any] = {
    "GATE_SAMPLE_SHARE": 0.1,
    "GATE_CONFIDENCE": 0.7,
    "RANDOM_SHARE": 0.2,
    "WARM_START_AUC": 0.6,
    "GATE_WAIVE_AHEAD": 20_000,
    "GATE_RECORD_CONFIDENCE": 0.9,
    "GATE_RECORD_MIN_LABELS": 50,
}


def _setting(name: str) -> Any:
    value = _conf_or_default(name)
    return SELECTION_DEFAULTS[name] if value is None else value


def query_specificity_recompute() -> int:
    """Store every search query's specificity from its search_buy pairs (weighted by observation count)."""
    per_query: dict[int, Counter[str]] = defaultdict(Counter)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.query_id, COALESCE(k.name, ''), SUM(b.observation_count) FROM knowledge_behaviourpair b "
            "JOIN knowledge_product p ON p.id = b.product_id LEFT JOIN knowledge_category k ON k.id = p.category_id "
            "WHERE b.kind = 'search_buy' GROUP BY b.query_id, COALESCE(k.name, '')"
        )
        for query_id, category, count in cursor.fetchall():
            per_query[query_id][category] += int(count)
    rows = [(query_id, query_specificity(counts)) for query_id, counts in per_query.items() if sum(counts.values())]
    return search_query_specificity_set(rows=rows)  # the knowledge app's table: its service writes it


def priority_inputs() -> dict[str, Any]:
    """The classifiers' inputs to ``queue_priorities_recompute`` (uncertainty, the active model's ROC AUC and
    interval, its scores), from the function named by ``PLAUSI_ANNOTATION["PRIORITY_INPUTS"]``
    (``classifiers.selectors.active_learning_inputs``): annotation sits below classifiers, so it names the
    function in the settings instead of importing it. Empty without the setting (no classifier)."""
    path = _conf_or_default("PRIORITY_INPUTS")
    return dict(import_string(path)()) if path else {}


def model_beats_chance(model_auc: float | None, model_auc_low: float | None = None) -> bool:
    """Whether the active model's uncertainty is worth following: the lower end of its ROC AUC interval above 0.5
    where it has one, else its ROC AUC above ``WARM_START_AUC``."""
    if model_auc_low is not None:
        return model_auc_low > 0.5
    return model_auc is not None and model_auc > float(_setting("WARM_START_AUC"))


# The inputs of a candidate's priority: (candidate, query specificity, support, relation, category, group, new,
# head). The group is the behaviour pair; a candidate without one (a plain head) is grouped by its head text, as
# the classifiers' folds group it (``_pick_columns`` numbers the heads; ``head`` is NULL where there is a pair).
# Open queue items, and with ``_PICKS_UNQUEUED`` the pooled candidates that are not queued yet (``new`` 1).
_PICK_COLUMNS = ("candidate", "specificity", "support", "relation", "category", "group", "new", "head")
_HEAD_OF_PLAIN = "CASE WHEN c.pair_id IS NULL THEN c.head_text END"
_PICKS_OPEN = (
    "SELECT q.candidate_id, s.specificity, c.support_count + c.merged_support, c.relation_id, "
    f"COALESCE(p.category_id, 0), COALESCE(c.pair_id, -c.id), 0, {_HEAD_OF_PLAIN} FROM annotation_queueitem q "
    "JOIN knowledge_candidate c ON c.id = q.candidate_id "
    "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
    "LEFT JOIN knowledge_searchquery s ON s.id = b.query_id "
    "LEFT JOIN knowledge_product p ON p.id = b.product_id WHERE q.state = 'open'"
)
_PICKS_UNQUEUED = (
    " UNION ALL SELECT c.id, s.specificity, c.support_count + c.merged_support, c.relation_id, "
    f"COALESCE(p.category_id, 0), COALESCE(c.pair_id, -c.id), 1, {_HEAD_OF_PLAIN} FROM knowledge_candidate c "
    "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
    "LEFT JOIN knowledge_searchquery s ON s.id = b.query_id "
    "LEFT JOIN knowledge_product p ON p.id = b.product_id WHERE c.status = 'pooled' "
    "AND NOT EXISTS (SELECT 1 FROM annotation_queueitem q WHERE q.candidate_id = c.id)"
)
FILL_PRIORITIES_TABLE = "plausi_fill_priority"


def queue_priorities_recompute(
    *,
    uncertainty: dict[int, float] | None = None,
    model_auc: float | None = None,
    model_auc_low: float | None = None,
    scores: Mapping[int, float] | None = None,
    seed: int = 0,
) -> int:
    """Recompute the priority of every open queue item and which gates are waived; returns how many were set.

    ``uncertainty`` is the active models' uncertainty per candidate, ``model_auc`` (and ``model_auc_low``, the
    lower end of its interval) the active model's estimated ROC AUC: until it beats chance the order is a warm
    start (random draws in place of uncertainty). ``scores`` are the first target's P(Yes) per candidate, for
    the gates (``queue_gates_waive``). ``seed`` fixes the random share and the warm start's draws.
    """
    _added, changed = _prioritise(
        fill=None,
        uncertainty=uncertainty,
        model_auc=model_auc,
        model_auc_low=model_auc_low,
        scores=scores,
        seed=seed,
    )
    return changed


def queue_fill_prioritised(
    *,
    gold_from_known_labels: bool = True,
    uncertainty: dict[int, float] | None = None,
    model_auc: float | None = None,
    model_auc_low: float | None = None,
    scores: Mapping[int, float] | None = None,
    seed: int = 0,
) -> tuple[int, int]:
    """``queue_fill`` and ``queue_priorities_recompute`` in one: the pooled candidates that are not queued yet are
    ordered with the open items, and each new item is written once, with its priority (a fill at priority 0 and
    then the recompute wrote a million new rows twice, the second time with every index entry again, and left
    the first versions dead in the table). The priorities are the ones the two calls give for the same ``seed``.
    Returns (items added, open items whose priority was set)."""
    return _prioritise(
        fill={"gold_from_known_labels": gold_from_known_labels},
        uncertainty=uncertainty,
        model_auc=model_auc,
        model_auc_low=model_auc_low,
        scores=scores,
        seed=seed,
    )


def _pick_columns(*, unqueued: bool) -> dict[str, np.ndarray]:
    """The picks' inputs as columns (``_PICK_COLUMNS``): on PostgreSQL one ``COPY ... TO STDOUT`` as CSV parsed by
    pyarrow (a million rows in about a second, where a fetch made a million Python tuples); the specificity is NaN
    where the query has none."""
    sql = _PICKS_OPEN + (_PICKS_UNQUEUED if unqueued else "")
    types = {"specificity": pa.float64(), "head": pa.string()} | {
        name: pa.int64() for name in _PICK_COLUMNS if name not in ("specificity", "head")
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = bytearray()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    buffer += chunk
            if not buffer:  # no open item and nothing to queue (pyarrow refuses an empty file)
                return {
                    name: np.empty(0, dtype=np.float64 if name == "specificity" else np.int64)
                    for name in _PICK_COLUMNS
                    if name != "head"
                }
            table = pa_csv.read_csv(
                pa.py_buffer(bytes(buffer)),
                read_options=pa_csv.ReadOptions(column_names=list(_PICK_COLUMNS)),
                # an empty head is NULL (a pair's row); a plain head is never empty (a constraint says so)
                convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
        else:
            cursor.execute(sql)
            table = pa.Table.from_pylist(
                [dict(zip(_PICK_COLUMNS, row, strict=True)) for row in cursor.fetchall()],
                schema=pa.schema([(name, types[name]) for name in _PICK_COLUMNS]),
            )
    columns = {
        name: table.column(name).to_numpy()
        if name != "specificity"
        else pc.fill_null(table.column(name), math.nan).to_numpy()
        for name in _PICK_COLUMNS
        if name != "head"
    }
    heads = table.column("head")
    if heads.null_count < len(heads):
        # Plain candidates: one group per head text, named by minus its smallest candidate id (a head of one
        # candidate keeps -id), so the groups do not depend on the order in which the rows came.
        plain = pc.is_valid(heads).to_numpy(zero_copy_only=False)
        codes = pc.dictionary_encode(heads.filter(pc.is_valid(heads))).combine_chunks()
        indices = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        first_ids = np.full(len(codes.dictionary), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_ids, indices, columns["candidate"][plain])
        group = columns["group"].copy()
        group[plain] = -first_ids[indices]
        columns["group"] = group
    return columns


def _lookup(keys: np.ndarray, values_by_key: Mapping[int, float | None], *, default: float) -> np.ndarray:
    """Each key's value in ``values_by_key`` as a float (``default`` where it has none, or None)."""
    if not values_by_key:
        return np.full(len(keys), default, dtype=np.float64)
    known = np.fromiter(values_by_key.keys(), dtype=np.int64, count=len(values_by_key))
    values = np.fromiter(
        (default if value is None else value for value in values_by_key.values()),
        dtype=np.float64,
        count=len(values_by_key),
    )
    order = np.argsort(known)
    known, values = known[order], values[order]
    at = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
    return np.where(known[at] == keys, values[at], default)


def _bases(specificity: np.ndarray, support: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """Each pick's breadth and support terms by ``annotation.maths.specificity.priority``, computed once per
    distinct (specificity, support) pair (few: a query's candidates share its specificity)."""
    pairs, inverse = np.unique(
        np.column_stack((np.nan_to_num(specificity, nan=-1.0), support)), axis=0, return_inverse=True
    )
    per_pair = np.array(
        [
            priority(specificity=None if spec < 0 else float(spec), support=int(sup), uncertainty=None, weights=weights)
            for spec, sup in pairs.tolist()
        ],
        dtype=np.float64,
    )
    return per_pair[inverse.reshape(-1)]


def _prioritise(
    *,
    fill: dict[str, Any] | None,
    uncertainty: dict[int, float] | None,
    model_auc: float | None,
    model_auc_low: float | None,
    scores: Mapping[int, float] | None,
    seed: int,
) -> tuple[int, int]:
    weights = settings.PLAUSI_ANNOTATION["PRIORITY_WEIGHTS"]
    base_weights = {k: v for k, v in weights.items() if k not in ("stratum", "uncertainty")}
    ready = model_beats_chance(model_auc, model_auc_low)
    query_specificity_recompute()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relation_id, COALESCE(p.category_id, 0), COUNT(*) FROM knowledge_candidate c "
            "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
            "LEFT JOIN knowledge_product p ON p.id = b.product_id "
            "WHERE c.status = 'labelled' GROUP BY c.relation_id, COALESCE(p.category_id, 0)"
        )
        labelled_within = {
            (int(relation), int(category)): int(count) for relation, category, count in cursor.fetchall()
        }
    labelled: dict[int, int] = defaultdict(int)
    for (labelled_relation, _category), count in labelled_within.items():
        labelled[labelled_relation] += count
    picks = _pick_columns(unqueued=fill is not None)
    ids, relation, category = picks["candidate"], picks["relation"], picks["category"]
    # (relation, category) as one integer key, for the counts per substratum
    categories = int(max(category.max(initial=0), max((c for _r, c in labelled_within), default=0))) + 1
    order = queue_order_columns(
        ids=ids,
        base=_bases(picks["specificity"], picks["support"], base_weights),
        uncertainty=_lookup(ids, uncertainty or {}, default=math.nan),
        stratum=relation,
        substratum=category,
        group=picks["group"],
        labelled_stratum=_lookup(relation, labelled, default=0.0),
        labelled_substratum=_lookup(
            relation * categories + category,
            {r * categories + c: n for (r, c), n in labelled_within.items()},
            default=0.0,
        ),
        model_ready=ready,
        uncertainty_weight=float(weights.get("uncertainty", 0.0)),
        random_share=float(_setting("RANDOM_SHARE")),
        seed=seed,
    )
    # Each pick's priority: its position from the end of the order.
    total = len(order)
    by_id = np.argsort(ids)
    row_of = by_id[np.searchsorted(ids, order, sorter=by_id)]
    priorities = np.empty(total, dtype=np.float64)
    priorities[row_of] = np.arange(total, 0, -1, dtype=np.float64)
    new = picks["new"] == 1
    added = changed = 0
    with transaction.atomic():
        if fill is not None and new.any():
            added = _fill_with(keys=ids[new], values=priorities[new], **fill)
        if (~new).any():
            changed = float_column_set(
                table="annotation_queueitem",
                key="candidate_id",
                column="priority",
                keys=ids[~new],
                values=priorities[~new],
            )
        queue_gates_waive(scores=scores if ready else None, order=order.tolist())
    # The claim reads the queue in priority order: statistics of the new priorities (issue 22).
    tables_analyze_after_change(changed={"annotation_queueitem": changed + added})
    return added, changed + added


def _fill_with(*, keys: np.ndarray, values: np.ndarray, gold_from_known_labels: bool) -> int:
    """The fill, each new item with its priority (``keys`` candidates, ``values`` priorities, through a temporary
    table)."""
    from annotation.services.queue import queue_fill_rows

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FILL_PRIORITIES_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {FILL_PRIORITIES_TABLE} (k bigint PRIMARY KEY, v double precision)")
        key_values_copy(table=FILL_PRIORITIES_TABLE, keys=keys, values=values)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {FILL_PRIORITIES_TABLE}")  # a temporary table has no statistics otherwise
        added = queue_fill_rows(
            gold_from_known_labels=gold_from_known_labels, priorities_table=FILL_PRIORITIES_TABLE, rows_coming=len(keys)
        )
        cursor.execute(f"DROP TABLE {FILL_PRIORITIES_TABLE}")
    return added


def gates_by_record() -> set[int]:
    """The gate questions that the pool's record answers with confidence: of their labels decided from answers,
    the Wilson lower bound of the Yes share is at least ``GATE_RECORD_CONFIDENCE`` over at least
    ``GATE_RECORD_MIN_LABELS`` labels (a gate that almost every candidate passes)."""
    gate_slugs = list(_conf_or_default("GATE_QUESTIONS") or ())
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = (
        ConsolidatedLabel.objects.filter(
            question__slug__in=gate_slugs, method__in=[MAJORITY, EXHAUSTED, GATE_OPEN], value__isnull=False
        )
        .values_list("question_id", "value")
        .annotate(n=Count("id"))
    )
    for question_id, value, n in rows:
        counts[question_id][0 if value else 1] += n
    return {
        question_id
        for question_id, (yes, no) in counts.items()
        if gate_record_confident(
            yes,
            no,
            confidence=float(_setting("GATE_RECORD_CONFIDENCE")),
            min_labels=int(_setting("GATE_RECORD_MIN_LABELS")),
        )
    }


def queue_gates_waive(*, scores: Mapping[int, float] | None, order: list[int] | None = None) -> tuple[int, int]:
    """Waive the gate questions that are answered with confidence, except on a ``GATE_SAMPLE_SHARE`` of the
    candidates (``gate_sampled``, by id); give back waived gates that no longer qualify. Returns (candidates
    waived, candidates given back).

    A candidate's gates are answered with confidence when the active classifier is (``scores``: the first target's
    P(Yes), given only while the model beats chance; ``gates_confident``): then all of them; otherwise a gate is
    when the pool's record is (``gates_by_record``). A waived gate is a Yes label with the method ``waived`` and no
    answers (``annotation.maths.overlap`` keeps it), so the walk skips it and the later questions decide (a
    candidate that would have failed the gate is not plausible either, and its annotators say so there). Only the
    first ``GATE_WAIVE_AHEAD`` candidates of ``order`` (the ones annotators meet before the next recomputation)
    are considered, which bounds the cost on a large pool. Only gates nobody answered, of candidates with no lease
    in flight, change; each changed candidate's queue item is written in the same transaction (the claim's
    freshness check relies on every label change writing it).
    """
    gate_ids = set(
        Question.objects.filter(slug__in=list(_conf_or_default("GATE_QUESTIONS") or ()), is_active=True).values_list(
            "pk", flat=True
        )
    )
    if not gate_ids:
        return 0, 0
    share = float(_setting("GATE_SAMPLE_SHARE"))
    confidence = float(_setting("GATE_CONFIDENCE"))
    by_record = gates_by_record() & gate_ids
    wanted: dict[int, set[int]] = {}
    for candidate_id in (order or [])[: int(_setting("GATE_WAIVE_AHEAD"))]:
        if gate_sampled(candidate_id, share):
            continue
        confident = scores is not None and gates_confident(scores.get(candidate_id), confidence=confidence)
        gates = gate_ids if confident else by_record
        if gates:
            wanted[candidate_id] = set(gates)
    with transaction.atomic():
        free = QueueItem.objects.filter(state=QueueItem.State.OPEN, in_flight=0, is_gold=False)
        held = set(
            ConsolidatedLabel.objects.filter(
                method=WAIVED, question_id__in=gate_ids, candidate_id__in=free.values("candidate_id")
            ).values_list("candidate_id", "question_id")
        )
        give_back = {(c, q) for c, q in held if q not in wanted.get(c, set())}
        for chunk in _chunks(sorted(give_back)):
            for candidate_id, question_id in chunk:
                ConsolidatedLabel.objects.filter(
                    method=WAIVED, candidate_id=candidate_id, question_id=question_id
                ).delete()
        free_wanted: set[int] = set()
        for chunk in _chunks(sorted(wanted)):
            free_wanted |= set(free.filter(candidate_id__in=chunk).values_list("candidate_id", flat=True))
        taken: set[tuple[int, int]] = set()
        for chunk in _chunks(sorted(free_wanted)):
            for model in (ConsolidatedLabel, Answer):
                taken |= set(
                    model.objects.filter(candidate_id__in=chunk, question_id__in=gate_ids).values_list(
                        "candidate_id", "question_id"
                    )
                )
        new = [
            ConsolidatedLabel(
                candidate_id=candidate_id, question_id=question_id, value=True, confidence=1.0, method=WAIVED
            )
            for candidate_id in sorted(free_wanted)
            for question_id in sorted(wanted[candidate_id])
            if (candidate_id, question_id) not in taken
        ]
        ConsolidatedLabel.objects.bulk_create(new, batch_size=5_000, ignore_conflicts=True)
        touched = sorted({c for c, _ in give_back} | {label.candidate_id for label in new})
        for chunk in _chunks(touched):
            QueueItem.objects.filter(candidate_id__in=chunk).update(updated_at=Now())
    return len({label.candidate_id for label in new}), len({c for c, _ in give_back})


def _chunks(ids: list[Any], size: int = 5_000) -> list[list[Any]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
