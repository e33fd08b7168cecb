import type { Database } from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

/**
 * The queue's tables. An event is stored once; each sink it routes to gets a delivery
 * row. A delivery that fails is retried, holding back the later deliveries of its job to
 * the same sink (job_blocks) so per-(sink, job) order survives retries.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  type TEXT NOT NULL,
  job_id TEXT NOT NULL,
  body BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id INTEGER NOT NULL,
  sink TEXT NOT NULL,
  job_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_by_sink ON deliveries (sink, id);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (sink, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);

CREATE TABLE IF NOT EXISTS job_blocks (
  sink TEXT NOT NULL,
  job_id TEXT NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (sink, job_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY,
  event_id INTEGER NOT NULL,
  sink TEXT NOT NULL,
  job_id TEXT NOT NULL,
  type TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  failed_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS dead_letters_by_sink ON dead_letters (sink, id);
CREATE INDEX IF NOT EXISTS dead_letters_by_event ON dead_letters (event_id);

CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_by_time ON dedupe (seen_at);
`;

export function migrate(db: Database): void {
  db.exec(DDL);
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
  if (row && Number(row.value) > SCHEMA_VERSION) {
    throw new Error(`queue schema version ${row.value} is newer than this relay understands (${SCHEMA_VERSION})`);
  }
  db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
}
