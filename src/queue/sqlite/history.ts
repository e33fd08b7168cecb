import { setImmediate as yieldToIngress } from 'node:timers/promises';
import type { Database, Statement } from 'better-sqlite3';
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

/**
 * Events a prune step reads (and at most deletes) before it gives the event loop back: a
 * backlog of old pending events is walked past a window at a time, never in one stall.
 */
export const PRUNE_WINDOW = 500;

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

const WINDOW_COLUMNS = `e.id, e.received_at AS at, length(e.body) AS size, ${UNREFERENCED} AS free`;

/**
 * Prune windows: the next events after a cursor, oldest first, each with whether nothing
 * refers to it (`free`); referenced ones are read and passed, never waited on. Each is an
 * index seek, so a window costs its rows, not the backlog before it.
 * - `sameTime`: the rest of the cursor's millisecond (received_at = ?, id > ?, at most ?);
 * - `byAge`: later ones up to the cutoff (received_at > ?, <= ?, at most ?), by events_by_time;
 * - `byId`: over the byte bound, by id (id > ?, at most ?).
 */
export const PRUNE_QUERIES = {
  sameTime: `SELECT ${WINDOW_COLUMNS} FROM events e WHERE e.received_at = ? AND e.id > ? ORDER BY e.id LIMIT ?`,
  byAge: `SELECT ${WINDOW_COLUMNS} FROM events e WHERE e.received_at > ? AND e.received_at <= ? ORDER BY e.received_at, e.id LIMIT ?`,
  byId: `SELECT ${WINDOW_COLUMNS} FROM events e WHERE e.id > ? ORDER BY e.id LIMIT ?`,
} as const;

interface WindowRow {
  id: number;
  at: number;
  size: number;
  free: number;
}

/** Where a prune pass has read to: (received_at, id) by age, id over the byte bound. */
interface PruneCursor {
  at: number;
  id: number;
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

  /** Drops the oldest kept events (nothing waits for them) until one window freed some; how many. */
  dropOldest(): number {
    const cursor = { at: -1, id: 0 };
    for (;;) {
      const { dropped, done } = this.pruneWindow(null, cursor);
      if (dropped > 0 || done) return dropped;
    }
  }

  /**
   * One window and one short transaction: of the next events after `cursor` (received before
   * `before`; any, when null), those nothing refers to, stopping once `excess` bytes are freed.
   * Moves the cursor; `done` once the window came back short (nothing further to read).
   */
  private pruneWindow(before: number | null, cursor: PruneCursor, excess = Infinity): { dropped: number; done: boolean } {
    const window = this.readWindow(before, cursor);
    const victims: WindowRow[] = [];
    let freed = 0;
    for (const row of window) {
      if (freed >= excess) break;
      if (!row.free) continue;
      victims.push(row);
      freed += row.size;
    }
    const last = window.at(-1);
    if (last) Object.assign(cursor, { at: last.at, id: last.id });
    const { db, stmt } = this.deps;
    db.transaction(() => {
      for (const { id } of victims) {
        stmt.attemptsOfEventDelete.run(id);
        stmt.eventDelete.run(id);
      }
    })();
    for (const { size } of victims) this.deps.counters.historyBytes -= size;
    return { dropped: victims.length, done: window.length < PRUNE_WINDOW || freed >= excess };
  }

  private windows?: Record<keyof typeof PRUNE_QUERIES, Statement>;

  private readWindow(before: number | null, cursor: PruneCursor): WindowRow[] {
    const { db } = this.deps;
    const q = (this.windows ??= {
      sameTime: db.prepare(PRUNE_QUERIES.sameTime),
      byAge: db.prepare(PRUNE_QUERIES.byAge),
      byId: db.prepare(PRUNE_QUERIES.byId),
    });
    if (before === null) return q.byId.all(cursor.id, PRUNE_WINDOW) as WindowRow[];
    const rest = q.sameTime.all(cursor.at, cursor.id, PRUNE_WINDOW) as WindowRow[];
    if (rest.length === PRUNE_WINDOW) return rest;
    return [...rest, ...(q.byAge.all(cursor.at, before, PRUNE_WINDOW - rest.length) as WindowRow[])];
  }

  async prune(): Promise<number> {
    let pruned = 0;
    // Windows of PRUNE_WINDOW events with a turn of the event loop between: ingress commits go
    // in between, and a backlog of old pending events costs many short steps, not one stall.
    // First down to the byte bound (history's own bytes: a backlog never wipes it), oldest first.
    const byId = { at: 0, id: 0 };
    for (let excess = this.historyBytes() - this.deps.options.maxBytes; excess > 0; excess = this.historyBytes() - this.deps.options.maxBytes) {
      const { dropped, done } = this.pruneWindow(null, byId, excess);
      pruned += dropped;
      if (done) break;
      await yieldToIngress();
    }
    const byAge = { at: -1, id: 0 };
    const cutoff = this.cutoff();
    for (;;) {
      const { dropped, done } = this.pruneWindow(cutoff, byAge);
      pruned += dropped;
      if (done) break;
      await yieldToIngress();
    }
    // Attempts go only with their event: a kept event (still pending) keeps all of them.
    return pruned;
  }
}
