"""Serving reads: answers for keys from the feature store, and the asynchronous cache for keys it does not know.

A read is a few indexed statements: the snapshot, the keys' rows (the partial unique index on current keys, or
(key, valid_from) for a pinned snapshot), and for a miss the cache's claim (serving.services). The first page at
the default page size is copied out of the stored bytes; other pages are cut from the stored edges. Nothing here
runs a model or waits for a worker.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from django.db import connection

from core.errors import ApplicationError
from serving import render
from serving.keys import ServingKey
from serving.models import ServingEntry, ServingSnapshot
from serving.services import conf, serving_generated_claim, serving_generated_claim_many

_ENTRY = ServingEntry._meta.db_table
_SNAPSHOT = ServingSnapshot._meta.db_table


def serving_snapshot_resolve(snapshot: int | None) -> int | None:
    """The snapshot a read uses: the pinned one (refused when unknown or pruned) or the latest (None: empty)."""
    with connection.cursor() as cursor:
        if snapshot is None:
            cursor.execute(f"SELECT MAX(id) FROM {_SNAPSHOT}")  # noqa: S608
            row = cursor.fetchone()
            return None if row is None or row[0] is None else int(row[0])
        cursor.execute(f"SELECT 1 FROM {_SNAPSHOT} WHERE id = %s", [snapshot])  # noqa: S608
        if cursor.fetchone() is None:
            raise ApplicationError(
                f"snapshot: there is no snapshot {snapshot} (it never existed or was pruned; "
                f"the latest {conf('SNAPSHOTS_KEPT')} are kept).",
                extra={"field": "snapshot"},
            )
    return snapshot


def _rows(keys: Sequence[str], snapshot: int | None, pinned: bool) -> dict[str, tuple[bytes, bytes | None]]:
    if not keys:
        return {}
    found: dict[str, tuple[bytes, bytes | None]] = {}
    unique = list(dict.fromkeys(keys))
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            # PostgreSQL: one array parameter, so one statement (and plan) whatever the number of keys
            where, params = (
                ("key = ANY(%s)", [part]) if postgresql else (f"key IN ({', '.join(['%s'] * len(part))})", part)
            )
            if pinned:
                cursor.execute(
                    f"SELECT key, body, edges FROM {_ENTRY} WHERE {where} "  # noqa: S608
                    "AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
                    [*params, snapshot, snapshot],
                )
            else:
                cursor.execute(f"SELECT key, body, edges FROM {_ENTRY} WHERE {where} AND valid_to IS NULL", params)  # noqa: S608
            for key, body, edges in cursor.fetchall():
                found[key] = (bytes(body), None if edges is None else bytes(edges))
    return found


def _edges_of(body: bytes, edges: bytes | None) -> list[render.Edge]:
    if edges is not None:
        return render.edges_unpack(edges)
    document = orjson.loads(b"{" + body)
    out: list[render.Edge] = []
    for group in document["curated"]["relations"]:
        for e in group["edges"]:
            out.append(
                (group["relation"], e["tail"], e["score"], e["edge"], e["candidate"], e["batch"], e["model_versions"])
            )
    return out


def serving_answer_tail(
    key: ServingKey,
    row: tuple[bytes, bytes | None] | None,
    *,
    page: int,
    page_size: int,
    claimed: tuple[bytes | None, bool] | None = None,
) -> bytes:
    """One key's answer (without its snapshot member): the stored bytes, another page of them, or for a miss the
    cache's generated knowledge (``claimed``, else claimed here: a generation when there is none or it is stale)."""
    if row is not None:
        body, edges = row
        if page == 1 and page_size == int(conf("PAGE_SIZE")):
            return body
        part = render.curated(_edges_of(body, edges), page=page, page_size=page_size)
        return render.answer_tail(key=key.describe(), found=True, pending=False, curated_part=part, generated=None)
    generated, pending = claimed if claimed is not None else serving_generated_claim(key=key)
    return render.answer_tail(key=key.describe(), found=False, pending=pending, curated_part=None, generated=generated)


def serving_lookup(
    *, keys: Sequence[ServingKey], snapshot: int | None = None, page: int = 1, page_size: int | None = None
) -> bytes:
    """The answer for one key, or ``{"snapshot": N, "results": [...]}`` for a batch (more than one, or a list)."""
    size = int(page_size or conf("PAGE_SIZE"))
    resolved = serving_snapshot_resolve(snapshot)
    rows = _rows([k.key for k in keys], resolved, pinned=snapshot is not None)
    misses = [k for k in keys if k.key not in rows]
    claimed = serving_generated_claim_many(keys=misses) if misses else {}
    tails = [
        serving_answer_tail(k, rows.get(k.key), page=page, page_size=size, claimed=claimed.get(k.key)) for k in keys
    ]
    return render.answers(resolved, tails)


def serving_lookup_one(
    *, key: ServingKey, snapshot: int | None = None, page: int = 1, page_size: int | None = None
) -> bytes:
    size = int(page_size or conf("PAGE_SIZE"))
    resolved = serving_snapshot_resolve(snapshot)
    rows = _rows([key.key], resolved, pinned=snapshot is not None)
    return render.answer(resolved, serving_answer_tail(key, rows.get(key.key), page=page, page_size=size))


def serving_snapshot_list(*, limit: int = 50) -> list[ServingSnapshot]:
    return list(ServingSnapshot.objects.order_by("-id")[:limit])
