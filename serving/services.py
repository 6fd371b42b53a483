"""Serving writes: the feature store's builds (full and per approval) and the asynchronous cache's claims and
results.

Feature store. Every build is one transaction that creates a ``ServingSnapshot`` and, for each key whose answer
changed, closes the current row (``valid_to`` = the snapshot) and inserts the new one (``valid_from`` = the
snapshot): a consumer sees an approval's keys change all at once, and one that pins a snapshot keeps reading the
rows valid at it. Builds take a lock (PostgreSQL: an advisory transaction lock) so two never interleave; a build
that changes nothing leaves no snapshot. Old snapshots past ``SNAPSHOTS_KEPT`` are pruned with their rows.

Asynchronous cache. A miss claims its key with ``INSERT ... ON CONFLICT DO NOTHING`` (a new key) or a
conditional ``UPDATE ... WHERE claim = <the claim it read>`` (a stale one); only the winner writes the outbox
message that starts generation, in the same transaction, so a storm of misses for one key enqueues one
generation. The worker writes its result only while its claim is still the latest.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from serving import render, sql
from serving.keys import ServingKey, key_from_string
from serving.models import GeneratedKnowledge, ServingEntry, ServingSnapshot

logger = logging.getLogger(__name__)

GENERATE_TASK = "serving.generate_for_key"
_LOCK_ID = 0x5E41_0019  # pg_advisory_xact_lock key of the feature store's builds


def conf(name: str) -> Any:
    return settings.PLAUSI_SERVING[name]


# --- the feature store ----------------------------------------------------------------------------------------


def _rendered(key: str, edges: list[render.Edge]) -> ServingEntry:
    page_size = int(conf("PAGE_SIZE"))
    part = render.curated(edges, page=1, page_size=page_size)
    overflow = any(group["has_more"] for group in part["relations"])
    body = render.answer_tail(
        key=key_from_string(key).describe(), found=True, pending=False, curated_part=part, generated=None
    )
    return ServingEntry(key=key, edge_count=len(edges), body=body, edges=render.edges_pack(edges) if overflow else None)


def _entries(statement: str, params: dict[str, Any]) -> Iterator[ServingEntry]:
    """Stream EDGES_BY_KEY and yield one rendered entry per key (a server-side cursor on PostgreSQL)."""
    versions_seen: dict[str, dict[str, int]] = {}
    current: str | None = None
    edges: list[render.Edge] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(5000):
            for key, relation, tail, score, edge_id, candidate_id, batch_id, versions, _rank in rows:
                if key != current:
                    if current is not None and edges:
                        yield _rendered(current, edges)
                    current, edges = key, []
                raw = versions if isinstance(versions, str) else render.orjson.dumps(versions).decode()
                found = versions_seen.get(raw)
                if found is None:
                    found = versions_seen[raw] = render.model_versions(versions)
                edges.append((relation, tail, score, edge_id, candidate_id, batch_id, found))
    if current is not None and edges:
        yield _rendered(current, edges)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])


def _prune() -> None:
    kept = int(conf("SNAPSHOTS_KEPT"))
    ids = list(ServingSnapshot.objects.order_by("-id").values_list("id", flat=True)[kept : kept + 1])
    if ids:
        oldest_kept = ids[0] + 1
        ServingEntry.objects.filter(valid_to__isnull=False, valid_to__lte=oldest_kept).delete()
        ServingSnapshot.objects.filter(id__lt=oldest_kept).delete()


def serving_store_rebuild(*, progress: Callable[[int], None] | None = None) -> ServingSnapshot:
    """Rebuild every key from the accepted graph: one new snapshot whose rows replace all current ones (keys
    that lost all their edges are closed). ``progress(keys)`` is called as keys are written."""
    started = time.perf_counter()
    statement, params = sql.edges_by_key(vendor=connection.vendor)
    with transaction.atomic():
        _lock()
        snapshot = ServingSnapshot.objects.create(kind=ServingSnapshot.Kind.FULL)
        closed = ServingEntry.objects.filter(valid_to__isnull=True).update(valid_to=snapshot.pk)
        written = edges = 0
        chunk: list[ServingEntry] = []
        for entry in _entries(statement, params):
            entry.valid_from = snapshot.pk
            chunk.append(entry)
            edges += entry.edge_count
            if len(chunk) >= 2000:
                ServingEntry.objects.bulk_create(chunk)
                written += len(chunk)
                chunk = []
                if progress is not None:
                    progress(written)
        ServingEntry.objects.bulk_create(chunk)
        written += len(chunk)
        if progress is not None:
            progress(written)
        snapshot.keys_changed = written
        snapshot.keys_removed = max(0, closed - written)
        snapshot.edges = edges
        snapshot.timings = {"total_s": round(time.perf_counter() - started, 3)}
        snapshot.save(update_fields=["keys_changed", "keys_removed", "edges", "timings"])
        _prune()
    _analyze()
    return snapshot


def _analyze() -> None:
    """After a full rebuild's bulk insert (outside its transaction): statistics, and the visibility map and hint
    bits set once here rather than by the first reads of every page (which would dirty them under load)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {ServingEntry._meta.db_table}")


def _touched(*, batch: int | None, candidate: int | None) -> tuple[set[int], set[int], set[int]]:
    """(query ids, product ids, pair ids) whose keys an approval (or a single decision) may have changed; a
    co-buy pair brings its reverse pair too (both are one ``pp:`` key)."""
    queries: set[int] = set()
    products: set[int] = set()
    pairs: set[int] = set()
    co_buys: set[tuple[int, int]] = set()
    with connection.cursor() as cursor:
        if batch is not None:
            cursor.execute(sql.TOUCHED_BY_BATCH, {"batch": batch})
        else:
            cursor.execute(sql.TOUCHED_BY_CANDIDATE, {"candidate": candidate})
        for pair_id, query_id, product_id, other_id in cursor.fetchall():
            pairs.add(pair_id)
            products.add(product_id)
            if query_id is not None:
                queries.add(query_id)
            if other_id is not None:
                products.add(other_id)
                co_buys.add((other_id, product_id))
    if co_buys:
        from knowledge.selectors import co_buy_pair_ids

        pairs |= co_buy_pair_ids(members=co_buys)
    return queries, products, pairs


def _keys_of(queries: set[int], products: set[int], pairs: set[int]) -> set[str]:
    """Every serving key of these queries, products and pairs (edges or not: a key that lost its edges closes)."""
    from knowledge.selectors import serving_key_parts

    texts, external_ids, rows = serving_key_parts(query_ids=queries, product_ids=products, pair_ids=pairs)
    keys = {f"q:{text}" for text in texts} | {f"p:{external_id}" for external_id in external_ids}
    for kind, query, product, other in rows:
        if kind == "search_buy":
            keys.add(ServingKey("query_product", query=query or "", product=product).key)
        else:
            first, second = sorted((product, other or ""))
            keys.add(ServingKey("product_product", product=first, other_product=second).key)
    return keys


def serving_store_update(
    *, batch: int | None = None, candidate: int | None = None, event: int | None = None
) -> ServingSnapshot | None:
    """Bring the keys of one approval (``batch``) or one decision (``candidate``) up to date with the graph; a new
    snapshot when any answer changed, else None (so a redelivered event changes nothing)."""
    started = time.perf_counter()
    with transaction.atomic():
        _lock()
        queries, products, pairs = _touched(batch=batch, candidate=candidate)
        if not pairs:
            return None
        statement, params = sql.edges_by_key(
            vendor=connection.vendor, query_ids=list(queries), product_ids=list(products), pair_ids=list(pairs)
        )
        fresh = {entry.key: entry for entry in _entries(statement, params)}
        keys = _keys_of(queries, products, pairs) | set(fresh)
        current = {
            key: bytes(body)
            for key, body in ServingEntry.objects.filter(key__in=keys, valid_to__isnull=True).values_list("key", "body")
        }
        changed = [entry for key, entry in fresh.items() if current.get(key) != bytes(entry.body)]
        removed = [key for key in current if key not in fresh]
        if not changed and not removed:
            return None
        snapshot = ServingSnapshot.objects.create(
            kind=ServingSnapshot.Kind.INCREMENTAL,
            event=event,
            keys_changed=len(changed),
            keys_removed=len(removed),
            edges=sum(entry.edge_count for entry in fresh.values()),
        )
        closing = [entry.key for entry in changed if entry.key in current] + removed
        for start in range(0, len(closing), 2000):
            ServingEntry.objects.filter(key__in=closing[start : start + 2000], valid_to__isnull=True).update(
                valid_to=snapshot.pk
            )
        for entry in changed:
            entry.valid_from = snapshot.pk
        ServingEntry.objects.bulk_create(changed, batch_size=2000)
        snapshot.timings = {"total_s": round(time.perf_counter() - started, 3)}
        snapshot.save(update_fields=["timings"])
        _prune()
    return snapshot


def serving_store_after_event(*, event_id: int) -> ServingSnapshot | None:
    """The hand-off graph -> serving: a ``graph.updated`` event's approval or decision into the store."""
    from core.events import event_get, handoff_enabled

    found = event_get(event_id)
    if found is None or not handoff_enabled("serving_after_graph"):
        return None
    _name, payload = found
    if payload.get("batch") is not None:
        return serving_store_update(batch=int(payload["batch"]), event=event_id)
    if payload.get("candidate") is not None:
        return serving_store_update(candidate=int(payload["candidate"]), event=event_id)
    return None


# --- the asynchronous cache -----------------------------------------------------------------------------------


def serving_generated_stale(
    *,
    pending: bool,
    requested_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    model: str,
    has_body: bool,
    now: dt.datetime,
    identity: str,
) -> bool:
    """Whether a cached key needs a new generation: never generated, expired, made by another model than the
    configured one, or pending for longer than ``PENDING_TIMEOUT_SECONDS`` (its worker died)."""
    if pending:
        timeout = dt.timedelta(seconds=float(conf("PENDING_TIMEOUT_SECONDS")))
        return requested_at is None or requested_at < now - timeout
    if not has_body:
        return True  # a generation that failed: ask again (at most once per PENDING_TIMEOUT_SECONDS: see below)
    return expires_at is None or expires_at <= now or model != identity


def _enqueue(entry_id: int, claim: int) -> None:
    """The generation's outbox message, in the claim's transaction; published after commit off the request
    thread (serving.publish)."""
    from core.models import OutboxMessage
    from serving.publish import publish_later

    message = OutboxMessage.objects.create(task=GENERATE_TASK, args=[entry_id, claim], queue="")
    transaction.on_commit(lambda: publish_later(message.pk))


def serving_generated_claim(*, key: ServingKey) -> tuple[bytes | None, bool]:
    """A miss: (the cached ``generated`` object or None, whether a generation is pending). Claims the key and
    enqueues one generation when none is cached or the cached one is stale; never waits for a worker."""
    return serving_generated_claim_many(keys=[key])[key.key]


def serving_generated_claim_many(*, keys: list[ServingKey]) -> dict[str, tuple[bytes | None, bool]]:
    """``serving_generated_claim`` for the misses of a batch, in one transaction."""
    from serving.generation import serving_generation_identity

    if not conf("GENERATE_ON_MISS"):
        return {key.key: (None, False) for key in keys}
    identity = serving_generation_identity()
    now = timezone.now()
    out: dict[str, tuple[bytes | None, bool]] = {}
    # Most misses of a storm find the key already claimed: one read, no transaction, answers them.
    for name, (_id, _claim_no, pending, body, expires_at, model, requested_at) in _cached(keys).items():
        if not _needs_claim(pending, body, expires_at, model, requested_at, now=now, identity=identity):
            out[name] = (None if body is None else bytes(body)), bool(pending)
    rest = [key for key in keys if key.key not in out]
    if not rest:
        return out
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A claim is cache state: after a crash, a claim lost with its outbox message (one transaction: both
            # or neither) is only claimed again by the next lookup. So the commit does not wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for key in rest:
            if key.key not in out:
                out[key.key] = _claim(cursor, key, now=now, identity=identity)
    return out


_COLUMNS = "id, claim, pending, body, expires_at, model, requested_at"


def _cached(keys: list[ServingKey]) -> dict[str, tuple[Any, ...]]:
    table = GeneratedKnowledge._meta.db_table
    names = list(dict.fromkeys(key.key for key in keys))
    found: dict[str, tuple[Any, ...]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(names), 500):
            part = names[start : start + 500]
            cursor.execute(
                f"SELECT key, {_COLUMNS} FROM {table} WHERE key IN ({', '.join(['%s'] * len(part))})",  # noqa: S608
                part,
            )
            for row in cursor.fetchall():
                found[row[0]] = tuple(row[1:])
    return found


def _needs_claim(
    pending: Any, body: Any, expires_at: Any, model: str, requested_at: Any, *, now: dt.datetime, identity: str
) -> bool:
    if connection.vendor == "sqlite":
        expires_at, requested_at = _aware(expires_at), _aware(requested_at)
    stale = serving_generated_stale(
        pending=bool(pending),
        requested_at=requested_at,
        expires_at=expires_at,
        model=model,
        has_body=body is not None,
        now=now,
        identity=identity,
    )
    if stale and body is None and not pending and requested_at is not None:
        # a failed generation is asked again no sooner than the pending timeout
        stale = requested_at < now - dt.timedelta(seconds=float(conf("PENDING_TIMEOUT_SECONDS")))
    return stale


def _claim(cursor: Any, key: ServingKey, *, now: dt.datetime, identity: str) -> tuple[bytes | None, bool]:
    table = GeneratedKnowledge._meta.db_table
    cursor.execute(
        f"INSERT INTO {table} (key, fields, pending, claim, model, error, requested_at) "  # noqa: S608
        "VALUES (%s, %s, TRUE, 1, '', '', %s) ON CONFLICT (key) DO NOTHING RETURNING id",
        [key.key, render.orjson.dumps(key.describe()).decode(), now],
    )
    row = cursor.fetchone()
    if row is not None:
        _enqueue(int(row[0]), 1)
        return None, True
    cursor.execute(f"SELECT {_COLUMNS} FROM {table} WHERE key = %s", [key.key])  # noqa: S608
    entry_id, claim, pending, body, expires_at, model, requested_at = cursor.fetchone()
    stale = _needs_claim(pending, body, expires_at, model, requested_at, now=now, identity=identity)
    if stale:
        cursor.execute(
            f"UPDATE {table} SET pending = TRUE, claim = claim + 1, requested_at = %s "  # noqa: S608
            "WHERE id = %s AND claim = %s RETURNING claim",
            [now, entry_id, claim],
        )
        won = cursor.fetchone()
        if won is not None:  # else another request claimed it a moment ago
            _enqueue(entry_id, int(won[0]))
        pending = True
    return (bytes(body) if body is not None else None), bool(pending)


def _aware(value: Any) -> Any:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def serving_generated_execute(*, entry_id: int, claim: int) -> bool:
    """The worker's side of a miss: generate and judge knowledge for the key (``serving_generate_for_key``),
    store it if this claim is still the latest, and feed the generated candidates to the pipeline. False when
    the claim is outdated or the entry gone (nothing to do)."""
    from serving.generation import serving_generate_for_key, serving_pipeline_feed

    entry = GeneratedKnowledge.objects.filter(pk=entry_id, claim=claim, pending=True).first()
    if entry is None:
        return False
    key = _key_of(entry)
    try:
        result = serving_generate_for_key(key=key)
    except Exception as exc:  # a failed generation is recorded and retried later, never served as knowledge
        logger.warning("serving: generation for %s failed: %s", entry.key, exc)
        GeneratedKnowledge.objects.filter(pk=entry_id, claim=claim).update(
            pending=False, error=f"{type(exc).__name__}: {exc}"[:300]
        )
        return False
    now = timezone.now()
    expires = now + dt.timedelta(seconds=float(conf("GENERATED_TTL_SECONDS")))
    body = render.generated(
        model=result.model,
        judged_by=result.judged_by,
        generated_at=now.isoformat(),
        expires_at=expires.isoformat(),
        items=result.items,
    )
    with transaction.atomic():
        updated = GeneratedKnowledge.objects.filter(pk=entry_id, claim=claim).update(
            pending=False, body=body, model=result.model, generated_at=now, expires_at=expires, error=""
        )
    if updated and conf("FEED_PIPELINE"):
        serving_pipeline_feed(key=key, result=result)
    return bool(updated)


def _key_of(entry: GeneratedKnowledge) -> ServingKey:
    fields = entry.fields or {}
    return ServingKey(
        type=str(fields.get("type", "")),
        query=str(fields.get("query", "")),
        product=str(fields.get("product", "")),
        other_product=str(fields.get("other_product", "")),
    )


def serving_generated_refresh(*, reason: str = "") -> int:
    """Mark every cached generation stale, so that the next lookup of each key serves it once more with
    ``pending`` and asks for a new one (stale-while-revalidate). Call it when a new generation model (COSMO-LM)
    or judge is activated; returns how many entries were marked."""
    with transaction.atomic():
        marked = GeneratedKnowledge.objects.filter(pending=False).update(expires_at=timezone.now())
    logger.info("serving: %s generated entries marked stale (%s)", marked, reason or "refresh")
    return marked


def serving_refresh_after_event(*, event_id: int) -> int:
    """The ``model.activated`` and ``lm.activated`` hand-offs: a new judge (classifier version) or a new
    COSMO-LM version refreshes what the old one judged or generated."""
    from core.events import event_get, handoff_enabled

    found = event_get(event_id)
    switch = "serving_refresh_after_lm" if found and found[0] == "lm.activated" else "serving_refresh_after_activation"
    if found is None or not handoff_enabled(switch):
        return 0
    return serving_generated_refresh(reason=f"{found[0]} (event {event_id})")
