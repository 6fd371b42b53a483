"""The stable JSON shape of a serving answer (docs/serving.md), rendered with orjson. Pure: no Django.

One key's answer::

    {"snapshot": 12, "key": {"type": "query", "query": "winter boots"}, "found": true, "pending": false,
     "curated": {"count": 37, "page": 1, "page_size": 20,
                 "relations": [{"relation": "capable_of", "count": 12, "has_more": false,
                                "edges": [{"tail": "grip icy sidewalks", "score": 0.93, "edge": 8812,
                                           "candidate": 5120, "batch": 41,
                                           "model_versions": {"plausible": 7, "typical": 9}}]}]},
     "generated": null}

``curated`` holds accepted edges only; ``generated`` holds model-generated knowledge only (for keys the graph does
not know), never the other way round. Relations are in slug order, edges best first (unscored last) within each,
and a page is ``page_size`` edges of every relation. The store keeps the whole answer but its first two members,
so the read path writes ``{"snapshot": N, `` and copies the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

# An edge as the store reads it: (relation, tail, score, edge id, candidate id, batch id, model versions).
Edge = tuple[str, str, float | None, int, int, int | None, dict[str, int]]


def model_versions(raw: Any) -> dict[str, int]:
    """{target: version id} from an edge's ``versions`` ({target: {"version": id, "token": ..., ...}})."""
    if isinstance(raw, (str, bytes)):
        raw = orjson.loads(raw) if raw else {}
    if not isinstance(raw, dict):
        return {}
    out = {}
    for target, value in sorted(raw.items()):
        if isinstance(value, dict) and isinstance(value.get("version"), int):
            out[target] = value["version"]
    return out


def _edge(edge: Edge) -> dict[str, Any]:
    _relation, tail, score, edge_id, candidate_id, batch_id, versions = edge
    return {
        "tail": tail,
        "score": None if score is None else round(float(score), 6),
        "edge": edge_id,
        "candidate": candidate_id,
        "batch": batch_id,
        "model_versions": versions,
    }


def curated(edges: Sequence[Edge], *, page: int, page_size: int) -> dict[str, Any]:
    """The ``curated`` object of one page; ``edges`` in store order (relation, best first)."""
    groups: dict[str, list[Edge]] = {}
    for edge in edges:
        groups.setdefault(edge[0], []).append(edge)
    start = (page - 1) * page_size
    relations = []
    for relation in sorted(groups):
        members = groups[relation]
        relations.append(
            {
                "relation": relation,
                "count": len(members),
                "has_more": len(members) > start + page_size,
                "edges": [_edge(e) for e in members[start : start + page_size]],
            }
        )
    return {"count": len(edges), "page": page, "page_size": page_size, "relations": relations}


def answer_tail(
    *, key: dict[str, str], found: bool, pending: bool, curated_part: dict[str, Any] | None, generated: bytes | None
) -> bytes:
    """The answer without its leading ``{"snapshot": N,`` (see ``answer``)."""
    body = orjson.dumps(
        {
            "key": key,
            "found": found,
            "pending": pending,
            "curated": curated_part or {"count": 0, "page": 1, "page_size": 0, "relations": []},
            "generated": None,
        }
    )
    if generated is not None:
        assert body.endswith(b'"generated":null}')
        body = body[: -len(b"null}")] + generated + b"}"
    return body[1:]


def answer(snapshot: int | None, tail: bytes) -> bytes:
    return b'{"snapshot":' + (b"null" if snapshot is None else str(int(snapshot)).encode()) + b"," + tail


def answers(snapshot: int | None, tails: Iterable[bytes]) -> bytes:
    """A batch: ``{"snapshot": N, "results": [answer, ...]}`` with every answer in request order."""
    head = b"null" if snapshot is None else str(int(snapshot)).encode()
    parts = [b'{"snapshot":' + head + b"," + tail for tail in tails]
    return b'{"snapshot":' + head + b',"results":[' + b",".join(parts) + b"]}"


def edges_pack(edges: Sequence[Edge]) -> bytes:
    return orjson.dumps([list(e) for e in edges])


def edges_unpack(data: bytes) -> list[Edge]:
    return [tuple(e) for e in orjson.loads(data)]


def generated(
    *,
    model: str,
    judged_by: dict[str, int] | None,
    generated_at: str,
    expires_at: str,
    items: Sequence[tuple[str, str, float | None]],
) -> bytes:
    """The ``generated`` object: model-generated tails per relation with the judge's score (null: no active
    classifier judged them), best first."""
    groups: dict[str, list[tuple[str, float | None]]] = {}
    for relation, tail, score in items:
        groups.setdefault(relation, []).append((tail, score))
    relations = [
        {
            "relation": relation,
            "edges": [
                {"tail": tail, "score": None if score is None else round(float(score), 6)}
                for tail, score in sorted(groups[relation], key=lambda ts: -(ts[1] if ts[1] is not None else -1.0))
            ],
        }
        for relation in sorted(groups)
    ]
    return orjson.dumps(
        {
            "source": "model",
            "model": model,
            "judged_by": judged_by,
            "generated_at": generated_at,
            "expires_at": expires_at,
            "relations": relations,
        }
    )
