import type { Database } from 'better-sqlite3';
import type { DeadLetter, DeadLetterFilter, DeadLetterStore } from '../store.js';
import type { Counters } from './counters.js';
import type { Statements } from './statements.js';

function where(filter: DeadLetterFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.ids) {
    clauses.push(`dl.id IN (${filter.ids.map(() => '?').join(',') || 'NULL'})`);
    params.push(...filter.ids);
  }
  const add = (clause: string, value: unknown): void => {
    if (value === undefined) return;
    clauses.push(clause);
    params.push(value);
  };
  add('dl.sink = ?', filter.sink);
  add('dl.type = ?', filter.type);
  add('dl.job_id = ?', filter.jobId);
  add('dl.failed_at >= ?', filter.since);
  add('dl.failed_at < ?', filter.until);
  const limit = filter.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
  return { sql: `${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY dl.id${limit}`, params };
}

/**
 * Rows per transaction for bulk changes (replay, drop, expiry, trim). Each transaction is
 * synchronous: between them the event loop runs, so webhooks are still acked meanwhile.
 */
export const BULK_CHUNK = 500;

/** Lets the event loop run (acks, deliveries) between two bulk transactions. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const COLUMNS = `dl.id, dl.event_id AS eventId, dl.sink, dl.job_id AS jobId, dl.type, dl.attempts,
  dl.created_at AS createdAt, dl.failed_at AS failedAt, dl.last_error AS lastError`;

export interface DeadLetterDeps {
  db: Database;
  stmt: Statements;
  counters: Counters;
  now: () => number;
  /** Events received after this are kept for history when nothing refers to them any more. */
  historyCutoff: () => number;
  /** After a replay put deliveries of these sinks back in their lanes. */
  replayed: (sinks: ReadonlySet<string>) => void;
}

/** Deliveries parked until an operator replays or drops them, or retention expires them. */
export class SqliteDeadLetters implements DeadLetterStore {
  constructor(private readonly deps: DeadLetterDeps) {}

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const { sql, params } = where(filter);
    return this.deps.db.prepare(`SELECT ${COLUMNS} FROM dead_letters dl ${sql}`).all(...params) as DeadLetter[];
  }

  async get(id: number): Promise<(DeadLetter & { body: Buffer }) | undefined> {
    return this.deps.db
      .prepare(`SELECT ${COLUMNS}, e.body FROM dead_letters dl JOIN events e ON e.id = dl.event_id WHERE dl.id = ?`)
      .get(id) as (DeadLetter & { body: Buffer }) | undefined;
  }

  async replay(filter: DeadLetterFilter): Promise<number> {
    return this.replayInChunks(filter, BULK_CHUNK, () => {});
  }

  async replayInChunks(
    filter: DeadLetterFilter,
    chunk: number,
    progress: (done: number, total: number) => void,
  ): Promise<number> {
    const { sql, params } = where(filter);
    const ids = this.deps.db.prepare(`SELECT dl.id FROM dead_letters dl ${sql}`).pluck().all(...params) as number[];
    let done = 0;
    for (let i = 0; i < ids.length; i += chunk) {
      if (i > 0) await nextTurn();
      done += this.replaySync({ ids: ids.slice(i, i + chunk) });
      progress(done, ids.length);
    }
    return done;
  }

  /**
   * Back in their lanes with fresh attempts. A delivery keeps its id (a receiver that
   * dedupes by it still can), so it goes back in id order among what its lane holds.
   */
  private replaySync(filter: DeadLetterFilter): number {
    const { db, stmt, counters } = this.deps;
    const { sql, params } = where(filter);
    const now = this.deps.now();
    const touched = new Set<string>();
    const moved = db.transaction(() => {
      const rows = db
        .prepare(
          `SELECT dl.id, dl.event_id AS eventId, dl.sink, dl.job_id AS jobId, dl.last_error AS lastError,
             length(e.body) AS size FROM dead_letters dl JOIN events e ON e.id = dl.event_id ${sql}`,
        )
        .all(...params) as Array<{ id: number; eventId: number; sink: string; jobId: string; lastError: string | null; size: number }>;
      const put = db.prepare(
        'INSERT INTO deliveries (id, event_id, sink, job_id, attempts, created_at, last_error) VALUES (?, ?, ?, ?, 0, ?, ?)',
      );
      const remove = db.prepare('DELETE FROM dead_letters WHERE id = ?');
      for (const row of rows) {
        put.run(row.id, row.eventId, row.sink, row.jobId, now, row.lastError);
        remove.run(row.id);
        stmt.laneReplay.run(row.sink, row.jobId, now, row.id, 1, row.size);
        counters.add(row.sink, 1, row.size, -1);
        touched.add(row.sink);
      }
      return rows.length;
    });
    try {
      const n = moved();
      if (touched.size > 0) this.deps.replayed(touched);
      return n;
    } catch (err) {
      counters.invalidate();
      throw err;
    }
  }

  async drop(filter: DeadLetterFilter): Promise<number> {
    const { sql, params } = where(filter);
    return this.removeIds(this.deps.db.prepare(`SELECT dl.id FROM dead_letters dl ${sql}`).pluck().all(...params) as number[]);
  }

  /** A chunk per transaction, the event loop running between two. */
  private async removeIds(ids: readonly number[]): Promise<number> {
    let dropped = 0;
    for (let i = 0; i < ids.length; i += BULK_CHUNK) {
      if (i > 0) await nextTurn();
      const chunk = ids.slice(i, i + BULK_CHUNK);
      dropped += this.remove(`DELETE FROM dead_letters WHERE id IN (${chunk.map(() => '?').join(',')})`, chunk);
    }
    return dropped;
  }

  async trimToBytes(maxBytes: number): Promise<number> {
    // Newest first, summing their bodies: the ones past the budget are the oldest.
    const ids = this.deps.db
      .prepare(
        `SELECT id FROM (SELECT dl.id, sum(length(e.body)) OVER (ORDER BY dl.id DESC) AS kept
           FROM dead_letters dl JOIN events e ON e.id = dl.event_id) WHERE kept > ? ORDER BY id`,
      )
      .pluck()
      .all(maxBytes) as number[];
    return this.removeIds(ids);
  }

  async expire(before: number): Promise<number> {
    return this.drop({ until: before });
  }

  /** Deletes, then forgets the events nothing refers to any more. */
  private remove(deleteSql: string, params: unknown[]): number {
    const { db, stmt, counters } = this.deps;
    try {
      return db.transaction(() => {
        const rows = db.prepare(`${deleteSql} RETURNING sink, event_id AS eventId`).all(...params) as Array<{
          sink: string;
          eventId: number;
        }>;
        for (const row of rows) counters.add(row.sink, 0, 0, -1);
        const cutoff = this.deps.historyCutoff();
        for (const eventId of new Set(rows.map((r) => r.eventId))) {
          if (stmt.gcEvent.run(eventId, cutoff, eventId, eventId).changes === 0) counters.keepIfUnreferenced(eventId);
        }
        return rows.length;
      })();
    } catch (err) {
      counters.invalidate();
      throw err;
    }
  }
}
