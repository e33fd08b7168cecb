import type { Database } from 'better-sqlite3';
import { RelayError } from '../../errors.js';

/**
 * Numbered schema steps. `meta.schema_version` says how many have run; each step runs in
 * its own transaction with the version bump, so a crash mid-upgrade leaves the previous
 * version intact. Never edit a released step: add one.
 */
const STEPS: ReadonlyArray<(db: Database) => void> = [
  // 1 — release 0.1 (120b885): deliveries walked per sink, held back by job_blocks.
  (db) =>
    db.exec(`
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, source TEXT NOT NULL,
  type TEXT NOT NULL, job_id TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL, sink TEXT NOT NULL, job_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, last_error TEXT);
CREATE INDEX IF NOT EXISTS deliveries_by_sink ON deliveries (sink, id);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (sink, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS job_blocks (
  sink TEXT NOT NULL, job_id TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (sink, job_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, sink TEXT NOT NULL, job_id TEXT NOT NULL, type TEXT NOT NULL,
  attempts INTEGER NOT NULL, created_at INTEGER NOT NULL, failed_at INTEGER NOT NULL, last_error TEXT);
CREATE INDEX IF NOT EXISTS dead_letters_by_sink ON dead_letters (sink, id);
CREATE INDEX IF NOT EXISTS dead_letters_by_event ON dead_letters (event_id);
CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_by_time ON dedupe (seen_at);`),

  // 2 — lanes: one row per (sink, job) with its head, its due time and what waits in it,
  // so a read touches due lanes only. A lane's due time is the later of its head's and
  // its job block's; job_blocks and the per-delivery due time go.
  (db) =>
    db.exec(`
CREATE TABLE lanes (
  sink TEXT NOT NULL, job_id TEXT NOT NULL, next_attempt_at INTEGER NOT NULL, head_id INTEGER NOT NULL,
  pending INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (sink, job_id)) WITHOUT ROWID;
INSERT INTO lanes (sink, job_id, next_attempt_at, head_id, pending, bytes)
  SELECT g.sink, g.job_id, max(h.next_attempt_at, coalesce(b.until, 0)), g.head_id, g.pending, g.bytes
  FROM (SELECT d.sink, d.job_id, min(d.id) AS head_id, count(*) AS pending, sum(length(e.body)) AS bytes
        FROM deliveries d JOIN events e ON e.id = d.event_id GROUP BY d.sink, d.job_id) g
  JOIN deliveries h ON h.id = g.head_id
  LEFT JOIN job_blocks b ON b.sink = g.sink AND b.job_id = g.job_id;
CREATE INDEX lanes_due ON lanes (sink, next_attempt_at, head_id);
CREATE INDEX lanes_by_head ON lanes (sink, head_id);
DROP TABLE job_blocks;
DROP INDEX deliveries_by_sink;
DROP INDEX deliveries_due;
ALTER TABLE deliveries DROP COLUMN next_attempt_at;
CREATE INDEX deliveries_by_lane ON deliveries (sink, job_id, id);
CREATE INDEX dead_letters_by_time ON dead_letters (failed_at);`),

  // 3 — history: every attempt of every delivery, events kept after delivery (pruned by
  // age and bytes), a job's events found by index; sinks an operator paused.
  (db) =>
    db.exec(`
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, delivery_id INTEGER NOT NULL, sink TEXT NOT NULL,
  at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, outcome TEXT NOT NULL, status_code INTEGER, error TEXT);
CREATE INDEX attempts_by_event ON attempts (event_id, id);
CREATE INDEX attempts_by_time ON attempts (at);
CREATE INDEX events_by_job ON events (job_id, id);
CREATE TABLE paused_sinks (sink TEXT PRIMARY KEY, paused_at INTEGER NOT NULL) WITHOUT ROWID;`),

  // 4 — events by time (the rowid rides along): the by-age prune and the time-filtered
  // event lists read a range instead of walking the table.
  (db) => db.exec(`CREATE INDEX events_by_time ON events (received_at);`),

  // 5 — a page event's URL, read at ingress from the parsed payload, so the console's event
  // lists never parse stored bodies (events stored before this step show none).
  (db) => db.exec(`ALTER TABLE events ADD COLUMN url TEXT;`),

  // 6 — indexes the PostgreSQL store lacked (SQLite has had deliveries_by_event and
  // dead_letters_by_event since step 2, and keeps no reference count): nothing to do.
  () => undefined,

  // 7 — history's own bytes: the PostgreSQL store keeps them in a column; this store sums them
  // once at open and keeps the count in memory: nothing to do.
  () => undefined,
];

export const SCHEMA_VERSION = STEPS.length;

function currentVersion(db: Database): number {
  const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
  if (!hasMeta) return 0;
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
  return row ? Number(row.value) : 0;
}

/**
 * Runs the steps this database has not had yet; returns the version it started at. Each
 * step takes the write lock first (BEGIN IMMEDIATE) and reads the version under it, so
 * relays or CLI commands opening one queue at once never run a step twice.
 */
export function migrate(db: Database): number {
  let from: number | undefined;
  for (;;) {
    const finished = db
      .transaction((): boolean => {
        const version = currentVersion(db);
        from ??= version;
        if (version > SCHEMA_VERSION) {
          throw new RelayError('RELAY_ERR_QUEUE_SCHEMA_NEWER', [db.name, version, SCHEMA_VERSION]);
        }
        if (version === SCHEMA_VERSION) return true;
        STEPS[version]!(db);
        db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(version + 1));
        return false;
      })
      .immediate();
    if (finished) return from!;
  }
}
