import type { ClientBase } from 'pg';

type Queryable = Pick<ClientBase, 'query'>;
import { RelayError } from '../../errors.js';
import { quoteIdentifier } from './pool.js';

/**
 * The PostgreSQL queue's schema, as numbered steps: step N brings a database at version
 * N-1 to N, and each runs once, in order, in the transaction that records it. The numbers
 * are the SQLite store's; a step that only one store needs is an empty step in the other.
 *
 * A **lane** row exists while (sink, job) has pending deliveries. `ready_at` is when it
 * may next be claimed: its head's age when due, the retry time in backoff, the lease
 * expiry while claimed. One index on (sink, ready_at, head_id) therefore finds due lanes,
 * oldest first, without reading lanes in backoff or leased ones.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  // 1 — release 0.1 (120b885) had no PostgreSQL store: nothing to do.
  { version: 1, sql: '' },
  // 2 — lanes, as the SQLite store's step 2 leaves its tables (plus what several replicas need:
  // refs on events, bytes on rows, lease owner and token on lanes, sharded counters).
  {
    version: 2,
    sql: `
CREATE TABLE events (
  id bigserial PRIMARY KEY,
  received_at bigint NOT NULL,
  source text NOT NULL,
  type text NOT NULL,
  job_id text NOT NULL,
  bytes integer NOT NULL,
  -- deliveries and dead letters that refer to it: the last one to go deletes it
  refs integer NOT NULL,
  body bytea NOT NULL
);
CREATE TABLE deliveries (
  id bigserial PRIMARY KEY,
  event_id bigint NOT NULL,
  sink text NOT NULL,
  job_id text NOT NULL,
  bytes integer NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  last_error text
);
CREATE INDEX deliveries_by_lane ON deliveries (sink, job_id, id);
CREATE INDEX deliveries_by_age ON deliveries (sink, created_at);
CREATE TABLE lanes (
  sink text NOT NULL,
  job_id text NOT NULL,
  pending integer NOT NULL,
  head_id bigint NOT NULL,
  ready_at bigint NOT NULL,
  owner text,
  token bigint,
  PRIMARY KEY (sink, job_id)
);
CREATE INDEX lanes_ready ON lanes (sink, ready_at, head_id);
CREATE INDEX lanes_by_token ON lanes (token) WHERE token IS NOT NULL;
CREATE SEQUENCE lease_tokens;
CREATE TABLE dead_letters (
  id bigint PRIMARY KEY,
  event_id bigint NOT NULL,
  sink text NOT NULL,
  job_id text NOT NULL,
  type text NOT NULL,
  bytes integer NOT NULL,
  attempts integer NOT NULL,
  created_at bigint NOT NULL,
  failed_at bigint NOT NULL,
  last_error text
);
CREATE INDEX dead_letters_by_sink ON dead_letters (sink, id);
CREATE INDEX dead_letters_by_time ON dead_letters (failed_at);
CREATE TABLE dedupe (key text PRIMARY KEY, seen_at bigint NOT NULL);
CREATE INDEX dedupe_by_time ON dedupe (seen_at);
-- Counters are sharded: every commit adds to one random shard of its sink, so replicas
-- committing at once do not queue on one row lock; a read sums at most 16 rows per sink.
CREATE TABLE sink_counters (
  sink text NOT NULL,
  shard smallint NOT NULL,
  pending bigint NOT NULL DEFAULT 0,
  pending_bytes bigint NOT NULL DEFAULT 0,
  dead_letters bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (sink, shard)
);
CREATE TABLE queue_usage (shard smallint PRIMARY KEY, bytes bigint NOT NULL DEFAULT 0);
`,
  },
  {
    // 3 — history, as SQLite's step 3: every attempt, a job's events by index; sinks an
    // operator paused (every replica reads them).
    version: 3,
    sql: `
CREATE TABLE attempts (
  id bigserial PRIMARY KEY,
  event_id bigint NOT NULL,
  delivery_id bigint NOT NULL,
  sink text NOT NULL,
  at bigint NOT NULL,
  duration_ms integer NOT NULL,
  outcome text NOT NULL,
  status_code integer,
  error text
);
CREATE INDEX attempts_by_event ON attempts (event_id, id);
CREATE INDEX attempts_by_time ON attempts (at);
CREATE INDEX events_by_job ON events (job_id, id);
CREATE TABLE paused_sinks (sink text PRIMARY KEY, paused_at bigint NOT NULL);`,
  },
  {
    // 4 — events by time, as SQLite's step 4: the by-age prune and the time-filtered event
    // lists read a range instead of walking the table.
    version: 4,
    sql: `CREATE INDEX events_by_time ON events (received_at, id);`,
  },
  {
    // 5 — a page event's URL, as SQLite's step 5: read at ingress from the parsed payload,
    // so listing events never casts stored bodies (a body PostgreSQL's json refuses, e.g. a
    // lone surrogate escape in markdown, would fail the whole list).
    version: 5,
    sql: `ALTER TABLE events ADD COLUMN url text;`,
  },
  {
    // 6 — indexes for what a full queue and the event details read (SQLite's step 6 is empty:
    // it has had the by-event ones since step 2). The prune over max_bytes and by age picks
    // events nothing refers to: partial indexes on refs <= 0 find them without walking every
    // pending event. An event's deliveries and dead letters by event_id. The lease_tokens
    // sequence has been unused since tokens became random.
    version: 6,
    sql: `
CREATE INDEX events_unreferenced ON events (id) WHERE refs <= 0;
CREATE INDEX events_unreferenced_by_time ON events (received_at, id) WHERE refs <= 0;
CREATE INDEX deliveries_by_event ON deliveries (event_id);
CREATE INDEX dead_letters_by_event ON dead_letters (event_id);
DROP SEQUENCE IF EXISTS lease_tokens;`,
  },
  {
    // 7 — history's own bytes (events nothing refers to), maintained like the queue's, so
    // history.max_bytes bounds history alone: a backlog of pending work never prunes it.
    version: 7,
    sql: `
ALTER TABLE queue_usage ADD COLUMN IF NOT EXISTS history_bytes bigint NOT NULL DEFAULT 0;
INSERT INTO queue_usage (shard, history_bytes) SELECT 0, coalesce(sum(bytes), 0) FROM events WHERE refs <= 0
ON CONFLICT (shard) DO UPDATE SET history_bytes = excluded.history_bytes;`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** A stable 64-bit key per schema for the migration's advisory lock ($1: the schema, or null for the default). */
const LOCK_KEY = `hashtextextended('firecrawl-relay migrate ' || coalesce($1, current_schema()), 0)`;

export interface MigrateOptions {
  /** Whether this process may change the schema (`serve`); offline commands only read its version. */
  allowed: boolean;
  /** Called once when another replica holds the migration lock and this one waits for it. */
  onWait?: () => void;
  /** How long one attempt of a step waits for its table locks (default STEP_LOCK_TIMEOUT_MS). */
  stepLockTimeoutMs?: number;
}

/**
 * How long a step's DDL waits for a table lock before it gives way. A waiting ACCESS
 * EXCLUSIVE (or SHARE) request queues every later insert behind it: ingress would stall for
 * as long as some long transaction holds the table. Short attempts with pauses between them
 * let ingress through; each stays well below the ingress lock timeout.
 */
export const STEP_LOCK_TIMEOUT_MS = 500;
/** Attempts of one step before the migration fails (about a minute of trying in all). */
const STEP_ATTEMPTS = 60;
const LOCK_NOT_AVAILABLE = '55P03';

/** One step, retried from a savepoint while its locks are not granted within the step lock timeout. */
async function runStep(client: Queryable, step: { version: number; sql: string }): Promise<void> {
  if (!step.sql) return;
  for (let attempt = 1; ; attempt++) {
    await client.query('SAVEPOINT relay_step');
    try {
      await client.query(step.sql);
      await client.query('RELEASE SAVEPOINT relay_step');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt >= STEP_ATTEMPTS) throw err;
      await client.query('ROLLBACK TO SAVEPOINT relay_step');
      // The pause lets the queued inserts run; it stays below the shortest idle-in-transaction
      // timeout (500 ms), or the server would end this session while it waits.
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, 50 * attempt)));
    }
  }
}

/** The recorded schema version (0: no tables yet), read without creating or locking anything. */
async function readVersion(client: Queryable, schema: string | undefined): Promise<number> {
  const meta = schema ? `${quoteIdentifier(schema)}.meta` : 'meta';
  const found = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [meta]);
  if (!found.rows[0]?.t) return 0;
  const row = await client.query<{ value: string }>(`SELECT value FROM ${meta} WHERE key = 'schema_version'`);
  return row.rows[0] ? Number(row.rows[0].value) : 0;
}

/**
 * Brings the schema to SCHEMA_VERSION and returns the version found. The version is read
 * first: a schema already current needs no lock and no DDL, so a role with DML rights only
 * runs the relay. Otherwise replicas starting together queue on an advisory lock (CREATE
 * SCHEMA IF NOT EXISTS itself is not safe against a concurrent one): one runs the steps, the
 * others wait, without a deadline (steps on a large queue take what they take), and then
 * find them done. Each step's DDL waits at most STEP_LOCK_TIMEOUT_MS for its table locks and
 * is retried from a savepoint, so ingress is not queued behind it for long; a migrator that
 * freezes is ended by the server's idle-in-transaction timeout, releasing what it locked.
 * A database written by a newer relay is refused before anything is touched;
 * an older one is refused when migrating is not allowed here.
 */
export async function migrate(client: Queryable, schema: string | undefined, where: string, options: MigrateOptions): Promise<number> {
  const seen = await readVersion(client, schema);
  if (seen > SCHEMA_VERSION) throw new RelayError('RELAY_ERR_QUEUE_SCHEMA_NEWER', [where, seen, SCHEMA_VERSION]);
  if (seen === SCHEMA_VERSION) return seen;
  if (!options.allowed) throw new RelayError('RELAY_ERR_QUEUE_SCHEMA_OLDER', [where, seen, SCHEMA_VERSION]);
  await client.query('BEGIN');
  try {
    // Waiting for the advisory lock and running a long step are active, not idle: the session's
    // idle_in_transaction_session_timeout stays, so the server ends a migrator that froze
    // mid-transaction (and its locks) instead of every replica's ingress queueing behind it.
    await client.query('SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0');
    const got = await client.query<{ got: boolean }>(`SELECT pg_try_advisory_xact_lock(${LOCK_KEY}) AS got`, [schema ?? null]);
    if (!got.rows[0]?.got) {
      options.onWait?.();
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`, [schema ?? null]);
    }
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    await client.query('CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)');
    const current = await readVersion(client, schema);
    if (current > SCHEMA_VERSION) throw new RelayError('RELAY_ERR_QUEUE_SCHEMA_NEWER', [where, current, SCHEMA_VERSION]);
    await client.query(`SET LOCAL lock_timeout = ${options.stepLockTimeoutMs ?? STEP_LOCK_TIMEOUT_MS}`);
    for (const step of MIGRATIONS) {
      if (step.version <= current) continue;
      await runStep(client, step);
      await client.query(
        `INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(step.version)],
      );
    }
    await client.query('COMMIT');
    return current;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
