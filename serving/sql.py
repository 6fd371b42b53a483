"""The feature store's statements, named and explained (the Python around them stays short).

EDGES_BY_KEY gives every accepted edge once per serving key it belongs to, ordered by key, then relation, then
best first (an unscored edge last), so the builder streams it and renders one key at a time without holding the
graph in memory:

- ``q:``  the edges of every search -> buy pair of that query;
- ``p:``  the edges of every pair the product is in (bought after a search, either side of a co-buy);
- ``qp:`` the edges of that search -> buy pair;
- ``pp:`` the edges of that co-buy pair, in either order (the key sorts the two ids).

Plain-head edges (no behaviour pair) have no serving key. ``{where_*}`` narrows each branch to the queries,
products or pairs an approval touched (an incremental update); a full rebuild leaves them empty. The separator
and the pair-ordering functions are parameters or vendor spellings, so the statement runs on SQLite (the demo).
"""

from __future__ import annotations

_EDGE_COLUMNS = (
    "r.slug, t.label, e.score, e.id, e.candidate_id, e.batch_id, e.versions, COALESCE(e.score, -1.0) AS rank_score"
)
_EDGE_FROM = (
    "FROM curation_acceptededge e "
    "JOIN knowledge_candidate c ON c.id = e.candidate_id "
    "JOIN knowledge_behaviourpair bp ON bp.id = c.pair_id "
    "JOIN knowledge_relation r ON r.id = e.relation_id "
    "JOIN curation_graphnode t ON t.id = e.tail_id "
    "JOIN knowledge_product p1 ON p1.id = bp.product_id "
    "LEFT JOIN knowledge_product p2 ON p2.id = bp.other_product_id "
    "LEFT JOIN knowledge_searchquery sq ON sq.id = bp.query_id "
)

EDGES_BY_KEY = (
    f"SELECT 'q:' || sq.normalized_text AS k, {_EDGE_COLUMNS} {_EDGE_FROM} "
    "WHERE bp.kind = 'search_buy' {where_query} "
    f"UNION ALL SELECT 'p:' || p1.external_id, {_EDGE_COLUMNS} {_EDGE_FROM} WHERE TRUE {{where_product}} "
    f"UNION ALL SELECT 'p:' || p2.external_id, {_EDGE_COLUMNS} {_EDGE_FROM} "
    "WHERE bp.kind = 'co_buy' {where_other_product} "
    f"UNION ALL SELECT 'qp:' || sq.normalized_text || %(sep)s || p1.external_id, {_EDGE_COLUMNS} {_EDGE_FROM} "
    "WHERE bp.kind = 'search_buy' {where_pair} "
    "UNION ALL SELECT 'pp:' || {least}(p1.external_id, p2.external_id) || %(sep)s || "
    f"{{greatest}}(p1.external_id, p2.external_id), {_EDGE_COLUMNS} {_EDGE_FROM} "
    "WHERE bp.kind = 'co_buy' {where_pair} "
    "ORDER BY 1, 2, 9 DESC, 5 DESC"
)

# What an approval or a single decision touched: the queries, products and pairs of its candidates (accepted or
# not: a rejection can remove an edge that was served).
TOUCHED_BY_BATCH = (
    "SELECT DISTINCT bp.id, bp.query_id, bp.product_id, bp.other_product_id "
    "FROM curation_batchmember m JOIN knowledge_candidate c ON c.id = m.candidate_id "
    "JOIN knowledge_behaviourpair bp ON bp.id = c.pair_id WHERE m.batch_id = %(batch)s"
)
TOUCHED_BY_CANDIDATE = (
    "SELECT bp.id, bp.query_id, bp.product_id, bp.other_product_id "
    "FROM knowledge_candidate c JOIN knowledge_behaviourpair bp ON bp.id = c.pair_id WHERE c.id = %(candidate)s"
)


def edges_by_key(
    *,
    vendor: str,
    query_ids: list[int] | None = None,
    product_ids: list[int] | None = None,
    pair_ids: list[int] | None = None,
) -> tuple[str, dict[str, object]]:
    """EDGES_BY_KEY for the whole graph (no ids given) or narrowed to some queries, products and pairs."""
    params: dict[str, object] = {"sep": "\t"}
    narrowed = query_ids is not None or product_ids is not None or pair_ids is not None

    def within(column: str, name: str, ids: list[int] | None) -> str:
        if not narrowed:
            return ""
        values = sorted(set(ids or [])) or [0]
        names = []
        for index, value in enumerate(values):
            params[f"{name}{index}"] = value
            names.append(f"%({name}{index})s")
        return f"AND {column} IN ({', '.join(names)})"

    where_product = within("p1.id", "pr", product_ids)
    sql = EDGES_BY_KEY.format(
        where_query=within("sq.id", "qu", query_ids),
        where_product=where_product,
        where_other_product=where_product.replace("p1.id", "p2.id"),
        where_pair=within("bp.id", "pa", pair_ids),
        least="LEAST" if vendor == "postgresql" else "MIN",
        greatest="GREATEST" if vendor == "postgresql" else "MAX",
    )
    return sql, params
