"""Annotation priorities, recomputed in bulk: query specificity, support, classifier uncertainty, strata.

COSMO asks about broad, ambiguous queries first (their explanations are the most valuable): a query's
specificity is 1 - the entropy of the categories bought after it (normalised), stored on ``SearchQuery``. The
priority of a queued candidate combines it with the candidate's support, the classifier's uncertainty when a
model exists, and a bonus for relation/category strata that have few labels yet (so every stratum gets some).
The weights are ``PLAUSI_ANNOTATION["PRIORITY_WEIGHTS"]``; see docs/annotation.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.conf import settings
from django.db import connection

from annotation.maths.specificity import priority, query_specificity
from core.bulk import rows_set_column
from core.statistics import tables_analyze_after_change
from knowledge.services import search_query_specificity_set


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


def queue_priorities_recompute(*, uncertainty: dict[int, float] | None = None) -> int:
    """Recompute the priority of every open queue item; returns how many were set."""
    weights = settings.PLAUSI_ANNOTATION["PRIORITY_WEIGHTS"]
    query_specificity_recompute()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relation_id, COALESCE(p.category_id, 0), COUNT(*) FROM knowledge_candidate c "
            "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
            "LEFT JOIN knowledge_product p ON p.id = b.product_id "
            "WHERE c.status = 'labelled' GROUP BY c.relation_id, COALESCE(p.category_id, 0)"
        )
        labelled = {(relation, category): int(count) for relation, category, count in cursor.fetchall()}
        most = max(labelled.values(), default=0)
        cursor.execute(
            "SELECT q.candidate_id, s.specificity, c.support_count + c.merged_support, c.relation_id, "
            "COALESCE(p.category_id, 0) FROM annotation_queueitem q "
            "JOIN knowledge_candidate c ON c.id = q.candidate_id "
            "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
            "LEFT JOIN knowledge_searchquery s ON s.id = b.query_id "
            "LEFT JOIN knowledge_product p ON p.id = b.product_id WHERE q.state = 'open'"
        )
        rows = []
        for candidate_id, specificity, support, relation, category in cursor.fetchall():
            base = priority(
                specificity=specificity,
                support=int(support),
                uncertainty=(uncertainty or {}).get(candidate_id),
                weights={k: v for k, v in weights.items() if k != "stratum"},
            )
            share = labelled.get((relation, category), 0) / most if most else 0.0
            rows.append((candidate_id, base + float(weights.get("stratum", 0.0)) * (1.0 - share)))
    changed = rows_set_column(
        table="annotation_queueitem", key="candidate_id", column="priority", sql_type="double precision", rows=rows
    )
    # The claim reads the queue in priority order: statistics of the new priorities (issue 22).
    tables_analyze_after_change(changed={"annotation_queueitem": changed})
    return changed
