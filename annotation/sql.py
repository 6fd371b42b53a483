"""The raw SQL of annotation's services, as named statements; the services in ``annotation/services/`` run them.

The answer path is raw SQL because every statement is a round trip, and under load a wait for the worker's other
threads: an answer is one statement that locks and reads, one that writes, and one more when it leases a new
candidate (``tests/annotation/test_round_trips.py`` counts them and checks their plans; docs/annotation.md has
the figures). The design, statement by statement:

* PLAN_STABLE_JOINS. A lease reaches its queue item by key (a scalar subquery, or ``= (SELECT ...)`` /
  ``= ANY(ARRAY(...))`` on the item's primary key), never by a plain join of assignments to queue items. Planned
  as a join, PostgreSQL may pick a merge join that walks the queue's primary key from the lowest candidate id up
  to the lease's: it trusts the assignment statistics of the last ANALYZE, which predate the leases being read,
  and that walk grows with every claim.
* Lock and read in one statement (``READ_LOCKED_CTE``). The answer locks its lease and queue item and reads the
  candidate's answers, labels and lease holders, with the annotator's leases and flags, in one statement. Its
  snapshot is taken before the lock is granted, so what it read is current only if no transaction holding that
  lock committed in between. Every such transaction writes the queue item, so the statement also returns whether
  the item's ``xmin`` is the version its snapshot saw; when it is not, the service reads the candidate again.
* Gold rows through the annotator's own pass (``READ_STATES``). A gold candidate collects answers from every
  annotator, and its labels are the known answers: its answers and leases are read through the asking annotator's
  unique (candidate, annotator) lease only, so that reading one never grows with the team.
* Writes as data-modifying CTEs (``writes_statement``). The answer's insert, the lease, the profile and every write
  of consolidation touch different rows; on PostgreSQL they go as one ``WITH w0 AS (...), w1 AS (...) SELECT``
  statement (one round trip, one plan each once prepared).
* ``SKIP LOCKED`` claims by ranges (``CLAIM``, ``CLAIM_PICK_RANGES``). One statement picks an open queue item with
  a free slot by priority, takes the slot, moves the candidate into annotation, inserts the lease and returns the
  labels (with the same ``xmin`` check) and the context: concurrent annotators neither wait for each other nor get
  the same slot. The pick reads the queue's partial indexes as a few short ranges (work in progress, then fresh
  candidates entered at a random point of a hashed tiebreak), each capped, and items without a free slot are in
  none of them, so its cost does not grow with ties, leases or the pool (docs/annotation.md, "The claim: ranges
  and cost"). The sweep of lapsed leases (``LEASES_EXPIRE``) skips locked rows too, so it never orders locks
  against an answer.

Statements marked "another app's table" read or write ``knowledge_candidate``; they are kept apart so that the
candidate's lifecycle can be routed through the knowledge app. Placeholders are ``%s``; templates take their
dynamic parts (row and placeholder lists, optional CTEs) through ``str.format`` or the builders below.
"""

from __future__ import annotations

from knowledge.selectors import CANDIDATE_BEHAVIOUR_FROM, CANDIDATE_SENTENCE_JOIN, CANDIDATE_STATEMENT_TEMPLATE
from knowledge.services import candidate_status_update_sql


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


# --- the queue ----------------------------------------------------------------------------------------------

# Another app's table: reads the pooled candidates of knowledge_candidate. Parameters: gold wanted, wanted, now,
# now (and the limit); ``{gold}`` is the "is gold" expression, twice.
# The claim's tiebreak of a candidate id (``QueueItem.tiebreak``): a multiplicative hash, which spreads consecutive
# ids evenly over [0, 2**31), so that a random point of that range is a random point of a priority's band.
TIEBREAK = "(({id}) * 2654435761) %% 2147483648"  # in a statement with parameters: %% is the modulo
# ``{priority}`` and ``{join}``: 0 and nothing, or each candidate's priority from a table of (k, v) rows.
QUEUE_FILL_FROM_POOLED_CANDIDATES = (
    "INSERT INTO annotation_queueitem (candidate_id, state, priority, wanted, in_flight, is_gold, tiebreak, "
    "started, created_at, updated_at) SELECT c.id, 'open', {priority}, CASE WHEN {gold} THEN %s ELSE %s END, 0, "
    "{gold}, " + TIEBREAK.format(id="c.id") + ", FALSE, %s, %s "
    "FROM knowledge_candidate c {join}WHERE c.status = 'pooled' "
    "AND NOT EXISTS (SELECT 1 FROM annotation_queueitem q WHERE q.candidate_id = c.id) ORDER BY {order}"
)


def queue_fill_statement(
    *,
    gold_from_known_labels: bool,
    postgresql: bool,
    limited: bool,
    priorities_table: str | None = None,
    in_candidate_order: bool = False,
) -> str:
    """The fill; with ``priorities_table`` (a trusted name: a temporary table of (k candidate id, v priority)),
    each new item is written with its priority (0 for a candidate the table lacks). Rows go in priority order, so
    that the priority indexes grow at their end, or with ``in_candidate_order`` in candidate order, which is what
    the primary key wants when the priority indexes are built after the INSERT (a first fill)."""
    no_labels = "'{}'::jsonb" if postgresql else "'{}'"
    gold = f"(c.known_labels IS NOT NULL AND c.known_labels <> {no_labels})" if gold_from_known_labels else "false"
    if priorities_table is None:
        priority, join, order = "0", "", "c.id"
    else:
        priority, join = "COALESCE(t.v, 0)", f"LEFT JOIN {priorities_table} t ON t.k = c.id "
        order = "c.id" if in_candidate_order else f"{priority} DESC, c.id"
    sql = QUEUE_FILL_FROM_POOLED_CANDIDATES.format(gold=gold, priority=priority, join=join, order=order)
    return sql + " LIMIT %s" if limited else sql


# --- reading a candidate's state ----------------------------------------------------------------------------

# A lease with its queue item, candidate (gold labels) and the asking annotator's exclusion; parameters: the
# annotator, the assignment twice. The queue item is reached by key (PLAN_STABLE_JOINS).
LOCK_SELECT = (
    "SELECT a.candidate_id, a.annotator_id, a.status, q.is_gold, q.state, q.wanted, q.in_flight, "
    "CASE WHEN q.is_gold THEN c.known_labels END AS known, "
    "COALESCE((SELECT p.excluded FROM annotation_annotatorprofile p WHERE p.user_id = %s), FALSE) AS excluded"
    "{version} FROM annotation_assignment a JOIN annotation_queueitem q ON q.candidate_id = a.candidate_id "
    "JOIN knowledge_candidate c ON c.id = a.candidate_id "
    "WHERE a.id = %s AND q.candidate_id = (SELECT x.candidate_id FROM annotation_assignment x WHERE x.id = %s)"
)
# The lease locked with its queue item's version, as the first CTE of READ_STATES.
READ_LOCKED_CTE = f"locked AS MATERIALIZED ({LOCK_SELECT.format(version=', q.xmin AS version')} FOR UPDATE OF a, q), "
READ_LOCKED_IDS = "SELECT k.candidate_id FROM locked k"
# The annotator's leased candidates (index assignment_leased_by); parameter: the annotator.
READ_LEASED_IDS = "SELECT a.candidate_id FROM annotation_assignment a WHERE a.annotator_id = %s AND a.status = 'leased'"
READ_CANDIDATE_ID = "SELECT CAST(%s AS bigint)"
# Rows of eleven columns: kind, candidate, annotator, question, value, flag, yes, no, method, expires, created.
# 'a' answers (flag: excluded), 'l' labels, 'p' leases of the candidates, live or not (flag: live). Gold rows come
# through the asking annotator's own lease only; "is gold" filters the materialised items before any join.
# Parameters: the annotator twice (after those of ``{locked}`` and ``{ids}``).
READ_STATES = (
    "WITH {locked}items AS MATERIALIZED (SELECT g.candidate_id, g.is_gold FROM annotation_queueitem g "
    "WHERE g.candidate_id IN ({ids})) "
    "SELECT 'a', s.candidate_id, s.annotator_id, s.question_id, s.value, COALESCE(p.excluded, FALSE), 0, 0, '', "
    "CAST(NULL AS timestamptz), CAST(NULL AS timestamptz) "
    "FROM items g JOIN annotation_answer s ON s.candidate_id = g.candidate_id "
    "LEFT JOIN annotation_annotatorprofile p ON p.user_id = s.annotator_id WHERE NOT g.is_gold "
    "UNION ALL SELECT 'a', s.candidate_id, s.annotator_id, s.question_id, s.value, COALESCE(p.excluded, FALSE), "
    "0, 0, '', NULL, NULL FROM items g "
    "JOIN annotation_assignment o ON o.candidate_id = g.candidate_id AND o.annotator_id = %s "
    "JOIN annotation_answer s ON s.assignment_id = o.id "
    "LEFT JOIN annotation_annotatorprofile p ON p.user_id = s.annotator_id WHERE g.is_gold "
    "UNION ALL SELECT 'l', l.candidate_id, 0, l.question_id, l.value, FALSE, l.yes, l.no, l.method, NULL, NULL "
    "FROM items g JOIN annotation_consolidatedlabel l ON l.candidate_id = g.candidate_id "
    "UNION ALL SELECT 'p', a.candidate_id, a.annotator_id, 0, NULL, a.status = 'leased', 0, 0, '', NULL, NULL "
    "FROM items g JOIN annotation_assignment a ON a.candidate_id = g.candidate_id WHERE NOT g.is_gold "
    "UNION ALL SELECT 'p', a.candidate_id, a.annotator_id, 0, NULL, a.status = 'leased', 0, 0, '', NULL, NULL "
    "FROM items g JOIN annotation_assignment a ON a.candidate_id = g.candidate_id AND a.annotator_id = %s "
    "WHERE g.is_gold"
)
# 'L': the annotator's own open leases (the assignment id in the third column); 'P': their profile, when they have
# one (flag: paused; third column: their answers of today, for the progress ``next`` shows, so that it costs no
# statement of its own). Parameters: the annotator, today (UTC), the annotator.
READ_LEASES = (
    " UNION ALL SELECT 'L', a.candidate_id, a.id, 0, (SELECT q.is_gold FROM annotation_queueitem q "
    "WHERE q.candidate_id = a.candidate_id), FALSE, 0, 0, '', a.lease_expires_at, a.created_at "
    "FROM annotation_assignment a WHERE a.annotator_id = %s AND a.status = 'leased' "
    "UNION ALL SELECT 'P', 0, CASE WHEN answered_on = %s THEN answered_that_day ELSE 0 END, 0, NULL, paused, "
    "0, 0, '', NULL, NULL FROM annotation_annotatorprofile WHERE user_id = %s"
)
# 'K': the locked lease (owner in the third column, is gold, fresh, wanted, in flight, then the rest as JSON).
READ_LOCKED = (
    " UNION ALL SELECT 'K', k.candidate_id, k.annotator_id, 0, k.is_gold, k.version = (SELECT v.xmin "
    "FROM annotation_queueitem v WHERE v.candidate_id = k.candidate_id), k.wanted, k.in_flight, "
    "CAST(json_build_array(k.status, k.state, k.known, k.excluded) AS text), NULL, NULL FROM locked k"
)


def read_statement(*, candidates: int, with_leases: bool, lock: bool) -> str:
    """READ_STATES over the annotator's leased candidates, the locked one and ``candidates`` more, in that order
    (parameters: the lock's, the annotator when ``with_leases``, the candidates, then READ_STATES' own)."""
    ids = [READ_LEASED_IDS] if with_leases else []
    if lock:
        ids.append(READ_LOCKED_IDS)
    ids += [READ_CANDIDATE_ID] * candidates
    sql = READ_STATES.format(locked=READ_LOCKED_CTE if lock else "", ids=" UNION ALL ".join(ids))
    if with_leases:
        sql += READ_LEASES
    if lock:
        sql += READ_LOCKED
    return sql


# A queue item; ``{lock}`` is "", " FOR UPDATE" or " FOR UPDATE SKIP LOCKED". Parameter: the candidate.
QUEUE_ITEM_SELECT = (
    "SELECT candidate_id, is_gold, state, wanted, in_flight FROM annotation_queueitem WHERE candidate_id = %s{lock}"
)


# --- writes: the answer and consolidation -------------------------------------------------------------------


def writes_statement(statements: list[str], results: tuple[int, ...]) -> str:
    """Write statements as one statement of data-modifying CTEs, selecting the first column of the RETURNING row
    of each write in ``results`` (PostgreSQL)."""
    parts = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(statements))
    selected = ", ".join(f"(SELECT * FROM w{i} LIMIT 1)" for i in results) or "1"
    return f"WITH {parts} SELECT {selected}"


# Under the locks the answer path holds, only a concurrent retry of the same key can conflict.
ANSWER_INSERT = (
    "INSERT INTO annotation_answer (assignment_id, candidate_id, question_id, annotator_id, value, "
    "idempotency_key, seconds, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
ANSWER_BY_KEY = (
    "SELECT id, assignment_id, value FROM annotation_answer WHERE annotator_id = %s AND idempotency_key = %s"
)
# Parameters: finished at, lease expires at, the assignment.
LEASE_DONE = "UPDATE annotation_assignment SET status = 'done', finished_at = %s, lease_expires_at = %s WHERE id = %s"
LEASE_RENEW = "UPDATE annotation_assignment SET finished_at = %s, lease_expires_at = %s WHERE id = %s"

# A label decided from answers: (candidate, question, value, confidence, yes, no, method, time); the method is
# 'majority', or 'gate_open' / 'exhausted' (annotation.maths.overlap).
LABEL_MAJORITY_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s)"
LABELS_MAJORITY_UPSERT = (
    "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, "
    "method, updated_at) VALUES {rows} ON CONFLICT (candidate_id, question_id) DO UPDATE SET "
    "value = excluded.value, confidence = excluded.confidence, yes = excluded.yes, no = excluded.no, "
    "method = excluded.method, updated_at = excluded.updated_at"
)
LABEL_GOLD_ROW = "(%s, %s, %s, 1.0, 0, 0, 'gold', %s)"
LABELS_GOLD_UPSERT = (
    "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, "
    "method, updated_at) VALUES {rows} ON CONFLICT (candidate_id, question_id) DO UPDATE SET "
    "value = excluded.value, confidence = excluded.confidence, method = excluded.method, "
    "updated_at = excluded.updated_at"
)
LABELS_DELETE = "DELETE FROM annotation_consolidatedlabel WHERE candidate_id = %s AND question_id IN ({questions})"
# Labels newly decided, counted toward the classifier's retraining trigger.
NEW_LABEL_ROW = "(%s, 1, %s)"
NEW_LABEL_COUNTS_ADD = (
    "INSERT INTO annotation_newlabelcount (question_id, count, updated_at) VALUES {rows} "
    "ON CONFLICT (question_id) DO UPDATE SET count = annotation_newlabelcount.count + 1, "
    "updated_at = excluded.updated_at"
)
QUEUE_ITEM_SETTLE = (
    "UPDATE annotation_queueitem SET wanted = %s, in_flight = %s, state = %s, updated_at = %s WHERE candidate_id = %s"
)
QUEUE_ITEM_GOLD_SETTLE = "UPDATE annotation_queueitem SET in_flight = %s, updated_at = %s WHERE candidate_id = %s"
# A candidate whose questions are settled leaves annotation, and one reopened by a disagreement returns to it: the
# knowledge app's lifecycle writes the statements (run among the answer's data-modifying CTEs). Parameters: now,
# the candidate.
# A queued candidate that a scoring run moved to 'scored' before anybody claimed it (the claim moves only pooled
# ones into annotation) is labelled all the same when its questions are settled (issue 21).
CANDIDATE_TO_LABELLED = candidate_status_update_sql(
    from_statuses=("in_annotation", "scored"), to_status="labelled", where="id = %s"
)
CANDIDATE_BACK_TO_ANNOTATION = candidate_status_update_sql(
    from_statuses=("labelled",), to_status="in_annotation", where="id = %s"
)

# The answer's write of the annotator's profile, RETURNING today's answer count. Parameters: the annotator, today,
# now.
PROFILE_ANSWER = (
    "INSERT INTO annotation_annotatorprofile (user_id, gold_correct, gold_total, flagged, paused, excluded, "
    "answered_on, answered_that_day, updated_at) VALUES (%s, 0, 0, FALSE, FALSE, FALSE, %s, 1, %s) "
    "ON CONFLICT (user_id) DO UPDATE SET answered_that_day = CASE WHEN "
    "annotation_annotatorprofile.answered_on = excluded.answered_on "
    "THEN annotation_annotatorprofile.answered_that_day + 1 ELSE 1 END, answered_on = excluded.answered_on "
    "RETURNING answered_that_day"
)
# The gold rule on the profile after this answer (parameters: GOLD_MIN_ANSWERS, correct, GOLD_MIN_ACCURACY); the
# accuracy is compared as float8, the same IEEE division as Python's.
PROFILE_GOLD_UNDER = (
    "(annotation_annotatorprofile.gold_total + 1 >= %s AND CAST(annotation_annotatorprofile.gold_correct + %s "
    "AS DOUBLE PRECISION) / (annotation_annotatorprofile.gold_total + 1) < %s)"
)
# PROFILE_ANSWER that also scores a gold answer. Parameters: the annotator, correct, flagged, paused, excluded,
# today, now (the insert); correct, the rule's, pause, the rule's, exclude, the rule's (the update).
PROFILE_GOLD_ANSWER = (
    "INSERT INTO annotation_annotatorprofile (user_id, gold_correct, gold_total, flagged, paused, excluded, "
    "answered_on, answered_that_day, updated_at) VALUES (%s, %s, 1, %s, %s, %s, %s, 1, %s) "
    "ON CONFLICT (user_id) DO UPDATE SET answered_that_day = CASE WHEN "
    "annotation_annotatorprofile.answered_on = excluded.answered_on "
    "THEN annotation_annotatorprofile.answered_that_day + 1 ELSE 1 END, answered_on = excluded.answered_on, "
    "gold_total = annotation_annotatorprofile.gold_total + 1, "
    "gold_correct = annotation_annotatorprofile.gold_correct + %s, "
    f"flagged = annotation_annotatorprofile.flagged OR {PROFILE_GOLD_UNDER}, "
    f"paused = annotation_annotatorprofile.paused OR (%s AND {PROFILE_GOLD_UNDER}), "
    f"excluded = annotation_annotatorprofile.excluded OR (%s AND {PROFILE_GOLD_UNDER}), "
    "updated_at = excluded.updated_at "
    "RETURNING answered_that_day"
)


# --- leases -------------------------------------------------------------------------------------------------

# The lapsed leases and their queue items, skipping locked rows (one being consolidated now is left for the next
# sweep); queue items by key (PLAN_STABLE_JOINS). Parameters: now, the limit, now. Returns how many expired.
LEASES_EXPIRE = (
    "WITH lapsed AS (SELECT a.id, a.candidate_id FROM annotation_assignment a "
    "WHERE a.status = 'leased' AND a.lease_expires_at < %s ORDER BY a.lease_expires_at LIMIT %s "
    "FOR UPDATE OF a SKIP LOCKED), "
    "free AS (SELECT q.candidate_id FROM annotation_queueitem q "
    "WHERE q.candidate_id = ANY(ARRAY(SELECT candidate_id FROM lapsed)) FOR UPDATE OF q SKIP LOCKED), "
    "gone AS (UPDATE annotation_assignment a SET status = 'expired', finished_at = %s "
    "FROM lapsed JOIN free ON free.candidate_id = lapsed.candidate_id "
    "WHERE a.id = lapsed.id RETURNING a.candidate_id), "
    "slots AS (UPDATE annotation_queueitem q SET in_flight = GREATEST(q.in_flight - g.n, 0) "
    "FROM (SELECT candidate_id, count(*) AS n FROM gone GROUP BY candidate_id) g "
    "WHERE q.candidate_id = g.candidate_id RETURNING 1) "
    "SELECT count(*) FROM gone"
)
# The same, a statement at a time (databases other than PostgreSQL).
LEASES_LAPSED = (
    "SELECT id, candidate_id FROM annotation_assignment WHERE status = 'leased' AND lease_expires_at < %s "
    "ORDER BY lease_expires_at LIMIT %s"
)
LEASE_EXPIRE = (
    "UPDATE annotation_assignment SET status = 'expired', finished_at = %s WHERE id = %s AND status = 'leased'"
)
QUEUE_ITEM_SLOT_EXPIRE = (
    "UPDATE annotation_queueitem SET in_flight = in_flight - 1 WHERE candidate_id = %s AND in_flight > 0"
)

# A lease ends, claimed by a conditional UPDATE; then its queue item gives the slot back (and is written even when
# none was held, see READ_LOCKED_CTE). Parameters: status, now, the assignment; now, the candidate.
LEASE_FINISH = "UPDATE annotation_assignment SET status = %s, finished_at = %s WHERE id = %s AND status = 'leased'"
QUEUE_ITEM_SLOT_GIVE_BACK = (
    "UPDATE annotation_queueitem SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END, "
    "updated_at = %s WHERE candidate_id = %s"
)

# The columns a step renders its candidate from (annotation.selectors builds the context from them); the claim
# reads them in its own statement, and the selectors read them for a candidate they have not cached.
CONTEXT_SELECT = (
    "SELECT c.head_kind, c.head_text, c.tail, c.relation_id, r.slug, r.label, "
    + CANDIDATE_STATEMENT_TEMPLATE
    + ", c.pair_id, sq.text, p1.title, p1.external_id, k1.name, p2.id, p2.title, p2.external_id, k2.name "
    + CANDIDATE_BEHAVIOUR_FROM
    + CANDIDATE_SENTENCE_JOIN
)

# The open queue item to lease, a statement at a time (databases other than PostgreSQL): with a free slot and never
# had by the annotator; work in progress (started) first, then by priority, then the hashed tiebreak. ``{seen}``
# adds the row's version. Parameters: gold or not, the annotator.
CLAIM_PICK = (
    "SELECT q.candidate_id{seen} FROM annotation_queueitem q WHERE q.state = 'open' AND q.is_gold = %s "
    "AND q.in_flight < q.wanted AND NOT EXISTS (SELECT 1 FROM annotation_assignment a "
    "WHERE a.candidate_id = q.candidate_id AND a.annotator_id = %s) "
    "ORDER BY q.started DESC, q.priority DESC, q.tiebreak, q.candidate_id LIMIT 1"
)

# The claim's pick on PostgreSQL: ranges of the queue's partial indexes tried in order, each a SKIP LOCKED pick of
# its first row that the annotator never had (the unique index one_pass_per_annotator answers that per row); the
# first range that yields a row ends the pick (an Append under LIMIT 1 runs no later branch). Non-gold:
#   1. started: candidates leased before that still have a free slot (queue_started_free), by priority, whatever
#      the fresh candidates' priorities: the work in progress is finished first (a recomputation of priorities
#      that sinks started items below fresh ones must not leave them half-annotated while everyone starts new
#      ones: that spread the team over the whole pool, one answer per candidate, and left no untouched
#      candidate whose gates could be waived);
#   2. and 3. fresh: never leased (queue_fresh), at the top priority, from a random point of the hashed tiebreak
#      to the end, then from the start to that point. No two claims start at the same row, and fresh rows are
#      neither leased nor seen, so a claim reads one row (two when it lands on a row another claim holds);
#   4. fresh below the top priority (the top band is all locked), then 5. started, past range 1's cap.
# Gold: 1. and 2. the top priority of the gold items (queue_gold) from a random point, wrapping; 3. below it.
# Items without a free slot are in no started range and a fresh item always has one, so leased and abandoned
# items are never read; a row the annotator already had is read only in the started range (items in progress
# that still want other annotators: few in a team) and among gold (each gold item is open to everyone).
# How many rows of a range a claim looks at, at most, before it tries the next range: the rows of a started or gold
# range that the annotator already had are read and passed (a lone annotator's own work in progress, gold seen
# before), so each range is capped; what a capped range leaves is taken by annotators who did not have it.
CLAIM_RANGE_ROWS = 16
# A range's pick, a subquery of its own (a locking clause is not allowed on a branch of UNION ALL itself): its
# first CLAIM_RANGE_ROWS rows in index order (``c``, read one at a time as the pick asks for them), each locked by
# key unless the annotator had it (``l``, LATERAL: a nested loop in ``c``'s order whatever the statistics say, so
# that the pick stops at the first row it can lock and locks no other; the lock re-checks that the slot is still
# free). The "had it" check names ``c`` only, so it runs first, as a one-time filter: a row the annotator had
# costs one probe of the unique (candidate, annotator) index, not a lookup of the row too.
_CLAIM_RANGE = (
    "SELECT * FROM (SELECT l.candidate_id, l.seen FROM (SELECT q.candidate_id, q.priority, q.{key} AS tie "
    "FROM annotation_queueitem q WHERE q.state = 'open' AND {where} AND q.claimable "
    "ORDER BY {inner} LIMIT {rows}) c CROSS JOIN LATERAL (SELECT k.candidate_id, k.xmin AS seen "
    "FROM annotation_queueitem k WHERE k.candidate_id = c.candidate_id AND k.state = 'open' AND k.claimable AND "
    "NOT EXISTS (SELECT 1 FROM annotation_assignment a WHERE a.candidate_id = c.candidate_id AND a.annotator_id = %s) "
    "FOR UPDATE OF k SKIP LOCKED) l ORDER BY {outer} LIMIT 1) r{number}"
)
_FRESH = "NOT q.is_gold AND NOT q.started"
_STARTED = "NOT q.is_gold AND q.started"
_TOP = "(SELECT t.priority FROM top t)"
# The top priority of fresh (or gold) open items: the first entry of their index (ordered as that index is, so
# that no other index of the open queue, which holds the started items too, can serve it). Parameter: none.
_CLAIM_TOP = (
    "top AS MATERIALIZED (SELECT q.priority FROM annotation_queueitem q WHERE q.state = 'open' AND {where} "
    "ORDER BY q.priority DESC, q.tiebreak LIMIT 1)"
)


def _claim_ranges(ranges: list[tuple[str, str, int]]) -> str:
    """The ranges (a condition on ``q``, the column after the priority in its index, and how many rows it reads
    at most) as one UNION ALL. Within one priority (``q.priority =
    ...``) the order is the tiebreak's alone: the planner knows the priority there is constant inside the subquery
    but not outside it, and would sort (and lock) every row read to order by it."""
    picks = []
    for number, (where, key, rows) in enumerate(ranges):
        band = "q.priority = " in where
        inner = f"q.{key}" if band else f"q.priority DESC, q.{key}"
        outer = "c.tie" if band else "c.priority DESC, c.tie"
        picks.append(_CLAIM_RANGE.format(where=where, key=key, inner=inner, outer=outer, rows=rows, number=number))
    return " UNION ALL ".join(picks)


# The last range reads the work in progress past the first range's cap: only a claim that found nothing else gets
# there, and it must not answer "nothing to do" while an item it may take is open (a small team's started items,
# each had by the annotator asking, can fill the first range). It reads at most the whole started index (the
# work in progress with a free slot: the team's open work, not the pool).
CLAIM_STARTED_ALL_ROWS = 1_000_000
# Parameters: the annotator; the start, the annotator (twice); the annotator (twice).
CLAIM_PICK_RANGES = _claim_ranges(
    [
        (_STARTED, "candidate_id", CLAIM_RANGE_ROWS),
        (f"{_FRESH} AND q.priority = {_TOP} AND q.tiebreak >= %s", "tiebreak", CLAIM_RANGE_ROWS),
        (f"{_FRESH} AND q.priority = {_TOP} AND q.tiebreak < %s", "tiebreak", CLAIM_RANGE_ROWS),
        (f"{_FRESH} AND q.priority < {_TOP}", "tiebreak", CLAIM_RANGE_ROWS),
        (_STARTED, "candidate_id", CLAIM_STARTED_ALL_ROWS),
    ]
)
CLAIM_TOP_FRESH = _CLAIM_TOP.format(where=_FRESH)
# Parameters: the start, the annotator (twice); the annotator.
CLAIM_PICK_GOLD_RANGES = _claim_ranges(
    [
        (f"q.is_gold AND q.priority = {_TOP} AND q.tiebreak >= %s", "tiebreak", CLAIM_RANGE_ROWS),
        (f"q.is_gold AND q.priority = {_TOP} AND q.tiebreak < %s", "tiebreak", CLAIM_RANGE_ROWS),
        (f"q.is_gold AND q.priority < {_TOP}", "tiebreak", CLAIM_RANGE_ROWS),
    ]
)
CLAIM_TOP_GOLD = _CLAIM_TOP.format(where="q.is_gold")


def claim_pick_params(*, gold: bool, annotator_id: int, start: int) -> list[int]:
    """The parameters of the pick's ranges (CLAIM_PICK_RANGES or CLAIM_PICK_GOLD_RANGES), in their order."""
    if gold:
        return [start, annotator_id, start, annotator_id, annotator_id]
    return [annotator_id, start, annotator_id, start, annotator_id, annotator_id, annotator_id]


# A claimed candidate moves from 'pooled' into annotation (a CTE of CLAIM): the knowledge app's lifecycle writes
# the statement, composed here so that the claim stays one statement. Parameter: now.
CANDIDATE_TO_IN_ANNOTATION_CTE = (
    "moved AS ("
    + candidate_status_update_sql(
        from_statuses=("pooled",),
        to_status="in_annotation",
        alias="c",
        using="picked",
        where="c.id = picked.candidate_id",
    )
    + " RETURNING 1)"
)
# The claim in one statement: pick (the ranges above, SKIP LOCKED), take the slot and mark the item started, move
# the candidate, insert the lease; return the lease, whether the item locked is the version the snapshot saw, the
# labels as JSON, and the CONTEXT_SELECT row. ``{top}`` and ``{ranges}``: the fresh or the gold ones. Parameters:
# those of claim_pick_params, now, now, the annotator, lease expires at, now.
CLAIM_TEMPLATE = (
    "WITH {top}, picked AS (SELECT r.candidate_id, r.seen FROM ({ranges}) r LIMIT 1), "
    "slot AS (UPDATE annotation_queueitem q SET in_flight = q.in_flight + 1, started = TRUE, updated_at = %s "
    "FROM picked WHERE q.candidate_id = picked.candidate_id RETURNING q.candidate_id), "
    f"{CANDIDATE_TO_IN_ANNOTATION_CTE}, "
    "lease AS (INSERT INTO annotation_assignment (candidate_id, annotator_id, status, "
    "lease_expires_at, created_at) SELECT candidate_id, %s, 'leased', %s, %s FROM slot "
    "RETURNING id, candidate_id) "
    "SELECT lease.id, lease.candidate_id, picked.seen = (SELECT v.xmin FROM annotation_queueitem v "
    "WHERE v.candidate_id = lease.candidate_id), (SELECT json_agg(json_build_array(l.question_id, "
    "l.value)) FROM annotation_consolidatedlabel l WHERE l.candidate_id = lease.candidate_id), ctx.* "
    "FROM lease JOIN picked ON picked.candidate_id = lease.candidate_id "
    f"LEFT JOIN LATERAL ({CONTEXT_SELECT} WHERE c.id = lease.candidate_id) ctx ON TRUE"
)
CLAIM = CLAIM_TEMPLATE.format(top=CLAIM_TOP_FRESH, ranges=CLAIM_PICK_RANGES)
CLAIM_GOLD = CLAIM_TEMPLATE.format(top=CLAIM_TOP_GOLD, ranges=CLAIM_PICK_GOLD_RANGES)
# The claim a statement at a time (databases other than PostgreSQL), after CLAIM_PICK without ``{seen}``.
QUEUE_ITEM_SLOT_TAKE = (
    "UPDATE annotation_queueitem SET in_flight = in_flight + 1, started = TRUE, updated_at = %s WHERE candidate_id = %s"
)
# As CANDIDATE_TO_IN_ANNOTATION_CTE, a statement of its own. Parameters: now, the candidate.
CANDIDATE_TO_IN_ANNOTATION = candidate_status_update_sql(
    from_statuses=("pooled",), to_status="in_annotation", where="id = %s"
)
LEASE_INSERT = (
    "INSERT INTO annotation_assignment (candidate_id, annotator_id, status, lease_expires_at, "
    "created_at) VALUES (%s, %s, 'leased', %s, %s) RETURNING id"
)


# --- labels decided outside the answer path (annotation.services.labels) ----------------------------------------

# A label a curator's audit decided. Parameters: the candidate, the question, the value, the method, now.
LABEL_DECIDED_ELSEWHERE = (
    "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, method, "
    "updated_at) VALUES (%s, %s, %s, 1.0, 0, 0, %s, %s) ON CONFLICT (candidate_id, question_id) DO UPDATE SET "
    "value = excluded.value, confidence = 1.0, method = excluded.method, updated_at = excluded.updated_at"
)

# Labels imported from another tool: rows of (candidate, question, value, confidence, yes, no, method, time); a
# label already there is kept. RETURNING names the question of each row written (the retraining counter's input).
LABEL_IMPORT_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s)"
LABELS_IMPORT = (
    "INSERT INTO annotation_consolidatedlabel (candidate_id, question_id, value, confidence, yes, no, method, "
    "updated_at) VALUES {rows} ON CONFLICT (candidate_id, question_id) DO NOTHING RETURNING question_id"
)
