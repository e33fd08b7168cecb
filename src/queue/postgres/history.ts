import { setImmediate as yieldToIngress } from 'node:timers/promises';
import type pg from 'pg';
import type {
  EventDetail,
  EventFilter,
  EventSummary,
  HistoryOptions,
  HistoryStore,
  SinkMinute,
  SinkOutcome,
  StoredAttempt,
  StoredEventHead,
} from '../store.js';
import { eventListSql, eventWhere } from '../event-filter.js';
import { sinkOutcomes, type OutcomeFact } from '../sink-outcome.js';
import { CounterDeltas } from './counters.js';
import { upsertLanes } from './events.js';
import { transaction } from './pool.js';

/** Rows deleted per prune transaction: short, so enqueue commits never wait long on it. */
const PRUNE_CHUNK = 500;

/** The WHERE of an event listing over `events e`; parameters appended to `params`. */
function where(filter: EventFilter, params: unknown[]): string {
  return eventWhere(filter, (value) => {
    params.push(value);
    return `$${params.length}`;
  });
}

/** `url`: a page event's URL, stored at ingress (`pageUrlOf`). */
const EVENT_COLUMNS = `e.id::float8 AS id, e.received_at::float8 AS "receivedAt", e.source, e.type, e.job_id AS "jobId", e.url`;

/** An event listing (exported for the test that reads its plan: a time filter reads events_by_time). */
export function listQuery(filter: EventFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const sql = eventListSql(filter, EVENT_COLUMNS, (value) => {
    params.push(value);
    return `$${params.length}`;
  });
  return { sql, params };
}

/**
 * One prune chunk's victims: the oldest events nothing refers to, received at or before $1
 * (by age, through events_by_time), or any of them (over the byte bound).
 */
export function pruneVictims(byAge: boolean): string {
  return byAge
    ? `SELECT id, bytes FROM events WHERE refs <= 0 AND received_at <= $1 ORDER BY received_at, id LIMIT ${PRUNE_CHUNK} FOR UPDATE SKIP LOCKED`
    : `SELECT id, bytes FROM events WHERE refs <= 0 ORDER BY id LIMIT ${PRUNE_CHUNK} FOR UPDATE SKIP LOCKED`;
}

export interface PgHistoryDeps {
  pool: pg.Pool;
  options: HistoryOptions;
  now: () => number;
  /** Bytes of kept history (maintained counter). */
  historyBytes: () => number;
  /** After a commit that changed counters; `wake` lists sinks given deliveries. */
  committed: (deltas: CounterDeltas, wake: ReadonlySet<string>) => void;
  /** Tells the other replicas, inside the transaction, which sinks got work. */
  notify: (client: pg.PoolClient, sinks: ReadonlySet<string>) => Promise<void>;
}

/** History in PostgreSQL, shared by every replica: the same rules as the SQLite store's. */
export class PgHistory implements HistoryStore {
  readonly enabled: boolean;

  constructor(private readonly deps: PgHistoryDeps) {
    this.enabled = deps.options.retentionMs > 0;
  }

  /** Events received after this are kept once delivered. */
  cutoff(): number {
    return this.deps.now() - this.deps.options.retentionMs;
  }

  async list(filter: EventFilter): Promise<EventSummary[]> {
    const { sql, params } = listQuery(filter);
    const rows = (await this.deps.pool.query<Omit<EventSummary, 'sinks'>>(sql, params)).rows;
    const outcomes = await this.outcomes(rows.map((r) => r.id));
    return rows.map((row) => ({ ...row, sinks: outcomes.get(row.id) ?? {} }));
  }

  /** Where each sink stands with each event (the mapping is sink-outcome.ts's, shared with SQLite). */
  private async outcomes(ids: readonly number[]): Promise<Map<number, Record<string, SinkOutcome>>> {
    if (ids.length === 0) return new Map();
    const rows = await this.deps.pool.query<OutcomeFact>(
      `SELECT * FROM (
         SELECT DISTINCT ON (event_id, sink) event_id::float8 AS "eventId", sink, 'last_attempt' AS kind, outcome, NULL::int AS attempts
         FROM attempts WHERE event_id = ANY($1::bigint[]) ORDER BY event_id, sink, id DESC) a
       UNION ALL SELECT event_id::float8, sink, 'pending', NULL, attempts FROM deliveries WHERE event_id = ANY($1::bigint[])
       UNION ALL SELECT event_id::float8, sink, 'dead_letter', NULL, NULL FROM dead_letters WHERE event_id = ANY($1::bigint[])`,
      [ids],
    );
    return sinkOutcomes(ids, rows.rows);
  }

  async get(id: number): Promise<EventDetail | undefined> {
    const { pool } = this.deps;
    const row = (await pool.query<Omit<EventDetail, 'sinks' | 'attempts'>>(`SELECT ${EVENT_COLUMNS}, e.body FROM events e WHERE e.id = $1`, [id])).rows[0];
    if (!row) return undefined;
    const attempts = await pool.query<StoredAttempt>(
      `SELECT delivery_id::float8 AS "deliveryId", event_id::float8 AS "eventId", sink, at::float8 AS at, duration_ms AS "durationMs", outcome,
         status_code AS "statusCode", error FROM attempts WHERE event_id = $1 ORDER BY id`,
      [id],
    );
    return { ...row, sinks: (await this.outcomes([id])).get(id) ?? {}, attempts: attempts.rows };
  }

  async activity(since: number): Promise<SinkMinute[]> {
    const rows = await this.deps.pool.query<SinkMinute>(
      `SELECT sink, ((at / 60000) * 60000)::float8 AS minute, count(*) FILTER (WHERE outcome = 'delivered')::float8 AS delivered,
         count(*) FILTER (WHERE outcome <> 'delivered')::float8 AS failed
       FROM attempts WHERE at >= $1 GROUP BY sink, minute ORDER BY minute`,
      [since],
    );
    return rows.rows;
  }

  async receivedByType(since: number): Promise<Record<string, number>> {
    const rows = await this.deps.pool.query<{ type: string; n: number }>(
      'SELECT type, count(*)::float8 AS n FROM events WHERE received_at >= $1 GROUP BY type ORDER BY type',
      [since],
    );
    return Object.fromEntries(rows.rows.map((r) => [r.type, r.n]));
  }

  async backfill(
    sink: string,
    filter: EventFilter,
    chunk: number,
    progress: (done: number, total: number) => void,
    accept?: (event: StoredEventHead) => boolean,
  ): Promise<number> {
    const params: unknown[] = [];
    const ids = (await this.deps.pool.query<{ id: number }>(`SELECT e.id::float8 AS id FROM events e ${where({ ...filter, limit: undefined }, params)} ORDER BY e.id`, params)).rows.map(
      (r) => r.id,
    );
    let done = 0;
    for (let i = 0; i < ids.length; i += chunk) {
      const deltas = new CounterDeltas();
      const now = this.deps.now();
      const slice = accept ? await this.accepted(ids.slice(i, i + chunk), accept) : ids.slice(i, i + chunk);
      const added = await transaction(this.deps.pool, async (client) => {
        // The store's one lock order (leases, settles and ingress keep it too): lanes by (sink,
        // job), then events by id. Taken first here, so a backfill never deadlocks a settle.
        await client.query(
          `SELECT 1 FROM lanes WHERE sink = $2 AND job_id IN (SELECT job_id FROM events WHERE id = ANY($1::bigint[])) ORDER BY sink, job_id FOR UPDATE`,
          [slice, sink],
        );
        await client.query('SELECT 1 FROM events WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [slice]);
        // Each event gains a reference, so it stays until this delivery settles.
        const rows = await client.query<{ n: number; bytes: number; reused: number }>(
          `WITH src AS (UPDATE events SET refs = refs + 1 WHERE id = ANY($1::bigint[]) RETURNING id, job_id, bytes, refs),
           added AS (
             INSERT INTO deliveries (event_id, sink, job_id, bytes, created_at)
             SELECT id, $2, job_id, bytes, $3 FROM src ORDER BY id
             RETURNING id, sink, job_id, bytes),
           lanes_added AS (${upsertLanes('$3')} RETURNING 1)
           SELECT count(*)::float8 AS n, coalesce(sum(bytes), 0)::float8 AS bytes,
             (SELECT coalesce(sum(bytes), 0)::float8 FROM src WHERE refs = 1) AS reused FROM added`,
          [slice, sink, now],
        );
        const { n, bytes, reused } = rows.rows[0]!;
        deltas.add(sink, n, bytes);
        // Kept history referred to again is pending work now.
        deltas.historyBytes -= reused;
        await deltas.write(client);
        return n;
      }, { afterCommit: (client) => this.deps.notify(client, new Set([sink])) });
      done += added;
      this.deps.committed(deltas, new Set([sink]));
      progress(done, ids.length);
    }
    return done;
  }

  /** Those of `ids` that `accept` takes (their bodies read outside the write transaction). */
  private async accepted(ids: readonly number[], accept: (event: StoredEventHead) => boolean): Promise<number[]> {
    const rows = await this.deps.pool.query<StoredEventHead & { id: number }>(
      'SELECT id::float8 AS id, source, job_id AS "jobId", body FROM events WHERE id = ANY($1::bigint[]) ORDER BY id',
      [ids],
    );
    return rows.rows.filter(accept).map((r) => r.id);
  }

  /** Drops one chunk of the oldest kept events (nothing waits for them), whatever their age; how many. */
  dropOldest(): Promise<number> {
    return this.pruneChunk(false);
  }

  /**
   * One short transaction: the oldest events nothing refers to, by age (past retention) or
   * any, stopping once `excess` bytes are freed (over the byte bound: no further).
   */
  private async pruneChunk(byAge: boolean, excess = Infinity): Promise<number> {
    const deltas = new CounterDeltas();
    // Oldest first; pending deliveries and dead letters hold a reference, so never theirs.
    const n = await transaction(this.deps.pool, async (client) => {
      const victims = (await client.query<{ id: string; bytes: number }>(pruneVictims(byAge), byAge ? [this.cutoff()] : [])).rows;
      let freed = 0;
      const last = victims.findIndex((v) => (freed += v.bytes) >= excess);
      if (last >= 0) victims.length = last + 1;
      if (victims.length === 0) return 0;
      const gone = await client.query<{ bytes: number }>(
        `WITH dropped AS (DELETE FROM attempts WHERE event_id = ANY($1::bigint[]))
         DELETE FROM events WHERE id = ANY($1::bigint[]) RETURNING bytes`,
        [victims.map((v) => v.id)],
      );
      for (const row of gone.rows) {
        deltas.usedBytes -= row.bytes;
        deltas.historyBytes -= row.bytes;
      }
      await deltas.write(client);
      return gone.rows.length;
    });
    this.deps.committed(deltas, new Set());
    return n;
  }

  async prune(): Promise<number> {
    let pruned = 0;
    for (;;) {
      // History's own bytes: a backlog of pending work never wipes it.
      const excess = this.deps.historyBytes() - this.deps.options.maxBytes;
      const n = excess > 0 ? await this.pruneChunk(false, excess) : await this.pruneChunk(true);
      if (n === 0) break;
      pruned += n;
      await yieldToIngress();
    }
    // Attempts go only with their event: a kept event (still pending) keeps all of them.
    return pruned;
  }
}
