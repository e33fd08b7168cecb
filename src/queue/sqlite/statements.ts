import type { Database, Statement } from 'better-sqlite3';

/** The store's per-row statements. Each uses an index (statements.test.ts checks). */
const SQL = {
  /** Inserts the key, or refreshes it when its last sighting left the window; no change = a duplicate. */
  dedupeClaim: `INSERT INTO dedupe (key, seen_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at WHERE seen_at <= ?`,
  eventPut: 'INSERT INTO events (received_at, source, type, job_id, body, url) VALUES (?, ?, ?, ?, ?, ?)',
  deliveryPut: 'INSERT INTO deliveries (event_id, sink, job_id, created_at) VALUES (?, ?, ?, ?)',
  /** A new lane is due at once; a lane that exists keeps its head and its due time (backoff). */
  laneAdd: `INSERT INTO lanes (sink, job_id, next_attempt_at, head_id, pending, bytes) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (sink, job_id) DO UPDATE SET pending = pending + excluded.pending, bytes = bytes + excluded.bytes`,
  /** A replayed delivery keeps its id, so it may go ahead of the lane's head. */
  laneReplay: `INSERT INTO lanes (sink, job_id, next_attempt_at, head_id, pending, bytes) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (sink, job_id) DO UPDATE SET pending = pending + excluded.pending, bytes = bytes + excluded.bytes,
      head_id = min(head_id, excluded.head_id)`,

  /** Due lanes of a sink, oldest first, with their head delivery: a range of lanes_due, then rowid lookups. */
  dueHeads: `SELECT l.pending AS lanePending, d.id, d.event_id AS eventId, d.sink, d.job_id AS jobId, d.attempts,
      d.created_at AS createdAt, e.received_at AS receivedAt, e.source, e.type
    FROM lanes l INDEXED BY lanes_due JOIN deliveries d ON d.id = l.head_id JOIN events e ON e.id = d.event_id
    WHERE l.sink = ? AND l.next_attempt_at <= ? ORDER BY l.next_attempt_at, l.head_id LIMIT ?`,
  /** The deliveries after a lane's head, in order. Bodies are read apart: most are in the body cache. */
  laneAfter: `SELECT d.id, d.event_id AS eventId, d.sink, d.job_id AS jobId, d.attempts, d.created_at AS createdAt,
      e.received_at AS receivedAt, e.source, e.type
    FROM deliveries d INDEXED BY deliveries_by_lane JOIN events e ON e.id = d.event_id
    WHERE d.sink = ? AND d.job_id = ? AND d.id > ? ORDER BY d.id LIMIT ?`,
  eventBody: 'SELECT body FROM events WHERE id = ?',
  nextDue: 'SELECT min(next_attempt_at) AS at FROM lanes WHERE sink = ? AND next_attempt_at > ?',

  deliveryDelete: 'DELETE FROM deliveries WHERE id = ? RETURNING event_id AS eventId',
  deliveryFail: 'UPDATE deliveries SET attempts = attempts + ?, last_error = ? WHERE id = ?',
  deliveryToDead: `INSERT INTO dead_letters (id, event_id, sink, job_id, type, attempts, created_at, failed_at, last_error)
    SELECT d.id, d.event_id, d.sink, d.job_id, e.type, d.attempts + ?, d.created_at, ?, ?
    FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?`,
  /**
   * Moves a lane's head to its first delivery, due at `?` or else at that delivery's
   * creation; changes nothing when the lane holds no delivery (the caller deletes it).
   */
  laneMoveToFirst: `UPDATE lanes SET (head_id, next_attempt_at) = (SELECT id, coalesce(?, created_at)
      FROM deliveries INDEXED BY deliveries_by_lane WHERE sink = lanes.sink AND job_id = lanes.job_id ORDER BY id LIMIT 1),
    pending = pending - ?, bytes = bytes - ?
    WHERE sink = ? AND job_id = ?
      AND EXISTS (SELECT 1 FROM deliveries INDEXED BY deliveries_by_lane WHERE sink = lanes.sink AND job_id = lanes.job_id)`,
  laneDelete: 'DELETE FROM lanes WHERE sink = ? AND job_id = ?',
  /** Deletes a lane only if it holds no more than what was just settled. */
  laneDeleteIfDone: 'DELETE FROM lanes WHERE sink = ? AND job_id = ? AND pending <= ?',
  /** Forgets an event nothing refers to any more, unless history keeps it (received after the cutoff). */
  eventDelete: 'DELETE FROM events WHERE id = ?',
  attemptsOfEventDelete: 'DELETE FROM attempts WHERE event_id = ?',
  gcEvent: `DELETE FROM events WHERE id = ? AND received_at <= ?
    AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?)
    AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = ?)`,
  attemptPut: `INSERT INTO attempts (event_id, delivery_id, sink, at, duration_ms, outcome, status_code, error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,

  // Set-wise forms for a settle: one statement for a batch, the ids handed as one JSON array
  // (json_each reads it whole; each id is then a rowid lookup).
  deliveriesDelete: 'DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?)) RETURNING id, event_id',
  /** gcEvent for a list of events: returns the ids it deleted. */
  eventsGc: `DELETE FROM events WHERE id IN (SELECT value FROM json_each(?)) AND received_at <= ?
    AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = events.id)
    AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = events.id) RETURNING id`,

  /**
   * The oldest lane head's created_at. Not the lowest head id's: a replay keeps a delivery's
   * id but sets its created_at to now. One row per lane (job) of the sink, never per delivery.
   */
  oldestOfSink: `SELECT min(d.created_at) AS at FROM lanes l INDEXED BY lanes_by_head JOIN deliveries d ON d.id = l.head_id
    WHERE l.sink = ?`,
  pageCount: 'PRAGMA page_count',
  freePages: 'PRAGMA freelist_count',
  pruneDedupe: 'DELETE FROM dedupe WHERE seen_at < ?',
};

export type Statements = { readonly [K in keyof typeof SQL]: Statement };

/** Prepared once per connection; the page counts read as plain numbers. */
export function prepareStatements(db: Database): Statements {
  const prepared = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Record<
    keyof typeof SQL,
    Statement
  >;
  prepared.pageCount.pluck();
  prepared.freePages.pluck();
  prepared.deliveriesDelete.raw();
  prepared.eventsGc.pluck();
  return prepared;
}
