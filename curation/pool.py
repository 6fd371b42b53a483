"""The pool that review batches draw from: ``scored`` candidates (every active classifier accepts them, no human
label) that are in no open batch, read with two named statements.

A candidate's *score* here is the lowest of its active targets' scores (a statement is only as good as its weakest
judgement), and its *band* the ``SCORE_BANDS`` interval that score falls in. ``UNBATCHED_MEMBERS`` lists the pool
one row per candidate, sorted the way batches cut it (relation, category, score from high to low, id); the
``UNBATCHED_STRATA`` count groups it by relation, category and band in the database, so planning the queue never
moves a million rows into Python. Both run on PostgreSQL and on the demo's SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from curation.formation import StratumKey

_LOWEST_SCORES = (
    "SELECT c.id AS id, c.relation_id AS relation_id, p.category_id AS category_id, min(s.score) AS score "
    "FROM knowledge_candidate c "
    "JOIN classifiers_candidatescore s ON s.candidate_id = c.id "
    "LEFT JOIN knowledge_behaviourpair b ON b.id = c.pair_id "
    "LEFT JOIN knowledge_product p ON p.id = b.product_id "
    "WHERE c.status = 'scored' AND s.target IN ({targets}) AND NOT EXISTS "
    "(SELECT 1 FROM curation_batchmember m WHERE m.candidate_id = c.id AND m.is_open) "
    "GROUP BY c.id, c.relation_id, p.category_id"
)

UNBATCHED_MEMBERS = _LOWEST_SCORES + " ORDER BY c.relation_id, p.category_id, min(s.score) DESC, c.id"

UNBATCHED_STRATA = (
    "SELECT relation_id, category_id, {band} AS band, count(*) FROM (" + _LOWEST_SCORES + ") pool "
    "GROUP BY relation_id, category_id, band"
)


def _band_case(bands: Sequence[float]) -> tuple[str, list[float]]:
    """SQL for ``curation.formation.score_band`` of ``pool.score``."""
    whens = [(i, bands[i]) for i in range(len(bands) - 2, 0, -1)]
    if not whens:
        return "0", []
    return "CASE " + " ".join(f"WHEN score >= %s THEN {i}" for i, _ in whens) + " ELSE 0 END", [e for _, e in whens]


def unbatched_members(
    *, targets: Sequence[str], relations: Sequence[int] | None = None
) -> list[tuple[int, int, int | None, float]]:
    """(candidate, relation, category, lowest score) of every unbatched scored candidate, in batch order; only
    those of ``relations`` when given."""
    sql = UNBATCHED_MEMBERS.format(targets=", ".join(["%s"] * len(targets)))
    params: list[str | int] = list(targets)
    if relations is not None:
        where = f"c.relation_id IN ({', '.join(['%s'] * len(relations))}) AND " if relations else "FALSE AND "
        sql = sql.replace("WHERE c.status = 'scored'", f"WHERE {where}c.status = 'scored'", 1)
        params = [*relations, *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(c), int(r), None if k is None else int(k), float(s)) for c, r, k, s in cursor.fetchall()]


def unbatched_strata(*, targets: Sequence[str], bands: Sequence[float]) -> dict[StratumKey, int]:
    """How many unbatched scored candidates each (relation, category, band) holds."""
    band, edges = _band_case(bands)
    sql = UNBATCHED_STRATA.format(band=band, targets=", ".join(["%s"] * len(targets)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*edges, *targets])
        return {(int(r), None if k is None else int(k), int(b)): int(n) for r, k, b, n in cursor.fetchall()}
