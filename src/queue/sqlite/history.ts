import { setImmediate as yieldToIngress } from 'node:timers/promises';
import type { Database } from 'better-sqlite3';
import type {
  EventDetail,
  EventFilter,
  EventSummary,
  HistoryOptions,
  HistoryStore,
  SinkMinute,
  StoredEventHead,
  SinkOutcome,
  StoredAttempt,
} from '../store.js';
import { eventListSql, eventWhere } from '../event-filter.js';
import { sinkOutcomes, type OutcomeFact } from '../sink-outcome.js';
import { UNREFERENCED, type Counters } from './counters.js';
import type { Statements } from './statements.js';

/** Rows deleted per prune transaction: short enough never to hold up an enqueue commit. */
const PRUNE_CHUNK = 500;

/** The WHERE of an event listing over `events e`, with its positional parameters. */
function where(filter: EventFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const sql = eventWhere(filter, (value) => {
    params.push(value);
    return '?';
  });
  return { sql, params };
}

/** `url`: a page event's URL, stored at ingress (`pageUrlOf`). */
const EVENT_COLUMNS = `e.id, e.received_at AS receivedAt, e.source, e.type, e.job_id AS jobId, e.url`;

/** An event listing (exported for the test that reads its plan: a time filter reads events_by_time). */
export function listQuery(filter: EventFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  // A job's events are read through events_by_job, a time range through events_by_time.
  const sql = eventListSql(filter, EVENT_COLUMNS, (value) => {
    params.push(value);
    return '?';
  });
  return { sql, params };
}

/**
 * The ids of one prune chunk: the oldest events nothing refers to, received at or before
 * the one parameter (by age, through events_by_time), or any of them (over the byte bound).
 */
export function pruneQuery(byAge: boolean): string {
  const columns = 'e.id, length(e.body) AS size';
  return byAge
    ? `SELECT ${columns} FROM events e WHERE e.received_at <= ? AND ${UNREFERENCED} ORDER BY e.received_at, e.id LIMIT ${PRUNE_CHUNK}`
    : `SELECT ${columns} FROM events e WHERE ${UNREFERENCED} ORDER BY e.id LIMIT ${PRUNE_CHUNK}`;
}

export interface SqliteHistoryDeps {
  db: Database;
  stmt: Statements;
  counters: Counters;
  options: HistoryOptions;
  now: () => number;
  /** After a backfill queued deliveries of these sinks. */
  queued: (sinks: ReadonlySet<string>) => void;
}

export class SqliteHistory implements HistoryStore {
  readonly enabled: boolean;

  constructor(private readonly deps: SqliteHistoryDeps) {
    this.enabled = deps.options.retentionMs > 0;
  }

  /** Events received after this are kept once delivered. */
  cutoff(): number {
    return this.deps.now() - this.deps.options.retentionMs;
  }

  async list(filter: EventFilter): Promise<EventSummary[]> {
    const { sql, params } = listQuery(filter);
    const rows = this.deps.db.prepare(sql).all(...params) as Array<Omit<EventSummary, 'sinks'>>;
    const outcomes = this.outcomes(rows.map((r) => r.id));
    return rows.map((row) => ({ ...row, sinks: outcomes.get(row.id) ?? {} }));
  }

  /** Where each sink stands with each event (the mapping is sink-outcome.ts's, shared with PostgreSQL). */
  private outcomes(ids: readonly number[]): Map<number, Record<string, SinkOutcome>> {
    if (ids.length === 0) return new Map();
    const list = ids.map(() => '?').join(',');
    const facts = this.deps.db
      .prepare(
        `SELECT event_id AS eventId, sink, 'last_attempt' AS kind, outcome, NULL AS attempts FROM attempts WHERE id IN
           (SELECT max(id) FROM attempts WHERE event_id IN (${list}) GROUP BY event_id, sink)
         UNION ALL SELECT event_id, sink, 'pending', NULL, attempts FROM deliveries WHERE event_id IN (${list})
         UNION ALL SELECT event_id, sink, 'dead_letter', NULL, NULL FROM dead_letters WHERE event_id IN (${list})`,
      )
      .all(...ids, ...ids, ...ids) as OutcomeFact[];
    return sinkOutcomes(ids, facts);
  }

  async get(id: number): Promise<EventDetail | undefined> {
    const { db } = this.deps;
    const row = db.prepare(`SELECT ${EVENT_COLUMNS}, e.body FROM events e WHERE e.id = ?`).get(id) as
      | (Omit<EventDetail, 'sinks' | 'attempts'>)
      | undefined;
    if (!row) return undefined;
    const attempts = db
      .prepare(
        `SELECT delivery_id AS deliveryId, event_id AS eventId, sink, at, duration_ms AS durationMs, outcome,
           status_code AS statusCode, error FROM attempts WHERE event_id = ? ORDER BY id`,
      )
      .all(id) as StoredAttempt[];
    return { ...row, sinks: this.outcomes([id]).get(id) ?? {}, attempts };
  }

  async activity(since: number): Promise<SinkMinute[]> {
    return this.deps.db
      .prepare(
        `SELECT sink, (at / 60000) * 60000 AS minute, sum(outcome = 'delivered') AS delivered, sum(outcome != 'delivered') AS failed
         FROM attempts WHERE at >= ? GROUP BY sink, minute ORDER BY minute`,
      )
      .all(since) as SinkMinute[];
  }

  async receivedByType(since: number): Promise<Record<string, number>> {
    const rows = this.deps.db
      .prepare('SELECT type, count(*) AS n FROM events WHERE received_at >= ? GROUP BY type ORDER BY type')
      .all(since) as Array<{ type: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  }

  async backfill(
    sink: string,
    filter: EventFilter,
    chunk: number,
    progress: (done: number, total: number) => void,
    accept?: (event: StoredEventHead) => boolean,
  ): Promise<number> {
    const { db, stmt, counters } = this.deps;
    const { sql, params } = where({ ...filter, limit: undefined });
    const ids = db.prepare(`SELECT e.id FROM events e ${sql} ORDER BY e.id`).pluck().all(...params) as number[];
    // The body is read only to route it (accept), outside the write transaction.
    const head = db.prepare('SELECT source, job_id AS jobId, body FROM events WHERE id = ?');
    let done = 0;
    for (let i = 0; i < ids.length; i += chunk) {
      const now = this.deps.now();
      const slice = accept ? ids.slice(i, i + chunk).filter((id) => {
        const event = head.get(id) as StoredEventHead | undefined;
        return event !== undefined && accept(event);
      }) : ids.slice(i, i + chunk);
      try {
        db.transaction(() => {
          for (const id of slice) {
            const event = db.prepare('SELECT job_id AS jobId, length(body) AS size FROM events WHERE id = ?').get(id) as
              | { jobId: string; size: number }
              | undefined;
            if (!event) continue;
            counters.reuse(id);
            const deliveryId = Number(stmt.deliveryPut.run(id, sink, event.jobId, now).lastInsertRowid);
            stmt.laneAdd.run(sink, event.jobId, now, deliveryId, 1, event.size);
            counters.add(sink, 1, event.size, 0);
            done++;
          }
        })();
      } catch (err) {
        counters.load();
        throw err;
      }
      this.deps.queued(new Set([sink]));
      progress(done, ids.length);
      await yieldToIngress();
    }
    return done;
  }

  /** Body bytes of kept history (maintained: no scan). */
  historyBytes(): number {
    this.deps.counters.refreshIfChangedElsewhere();
    return this.deps.counters.historyBytes;
  }

  /** Drops one chunk of the oldest kept events (nothing waits for them), at once; how many. */
  dropOldest(): number {
    return this.pruneChunk(null);
  }

  /**
   * One short transaction: the oldest unreferenced events received before `before` (any,
   * when null), stopping once `excess` bytes are freed (over the byte bound: no further).
   */
  private pruneChunk(before: number | null, excess = Infinity): number {
    const { db } = this.deps;
    const select = db.prepare(pruneQuery(before !== null));
    const rows = (before === null ? select.all() : select.all(before)) as Array<{ id: number; size: number }>;
    let freed = 0;
    const last = rows.findIndex((row) => (freed += row.size) >= excess);
    if (last >= 0) rows.length = last + 1;
    const dropEvent = db.prepare('DELETE FROM events WHERE id = ?');
    const dropAttempts = db.prepare('DELETE FROM attempts WHERE event_id = ?');
    db.transaction(() => {
      for (const { id } of rows) {
        dropAttempts.run(id);
        dropEvent.run(id);
      }
    })();
    for (const { size } of rows) this.deps.counters.historyBytes -= size;
    return rows.length;
  }

  async prune(): Promise<number> {
    let pruned = 0;
    // Short transactions with a turn of the event loop between: ingress commits go in between.
    for (;;) {
      // History's own bytes: a backlog of pending work never wipes it.
      const excess = this.historyBytes() - this.deps.options.maxBytes;
      const count = excess > 0 ? this.pruneChunk(null, excess) : this.pruneChunk(this.cutoff());
      if (count === 0) break;
      pruned += count;
      await yieldToIngress();
    }
    // Attempts go only with their event: a kept event (still pending) keeps all of them.
    return pruned;
  }
}
