import type { Database } from 'better-sqlite3';

export interface DeadLetter {
  id: number;
  eventId: number;
  sink: string;
  jobId: string;
  type: string;
  attempts: number;
  createdAt: number;
  failedAt: number;
  lastError: string | null;
}

export interface DeadLetterFilter {
  ids?: readonly number[];
  sink?: string;
  type?: string;
  jobId?: string;
  /** failed at or after (ms since epoch) */
  since?: number;
  /** failed before (ms since epoch) */
  until?: number;
  limit?: number;
}

function where(filter: DeadLetterFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.ids) {
    clauses.push(`id IN (${filter.ids.map(() => '?').join(',') || 'NULL'})`);
    params.push(...filter.ids);
  }
  const add = (clause: string, value: unknown): void => {
    if (value === undefined) return;
    clauses.push(clause);
    params.push(value);
  };
  add('sink = ?', filter.sink);
  add('type = ?', filter.type);
  add('job_id = ?', filter.jobId);
  add('failed_at >= ?', filter.since);
  add('failed_at < ?', filter.until);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const COLUMNS = `id, event_id AS eventId, sink, job_id AS jobId, type, attempts, created_at AS createdAt,
  failed_at AS failedAt, last_error AS lastError`;

/** Deliveries that kept failing, parked until an operator replays or drops them. */
export class DeadLetters {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  list(filter: DeadLetterFilter = {}): DeadLetter[] {
    const { sql, params } = where(filter);
    const limit = filter.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
    return this.db.prepare(`SELECT ${COLUMNS} FROM dead_letters ${sql} ORDER BY id${limit}`).all(...params) as DeadLetter[];
  }

  /** Ids of the matching dead letters, oldest first. */
  ids(filter: DeadLetterFilter = {}): number[] {
    const { sql, params } = where(filter);
    return this.db.prepare(`SELECT id FROM dead_letters ${sql} ORDER BY id`).pluck().all(...params) as number[];
  }

  /** Replays in chunks (one transaction each), reporting progress after each. */
  replayInChunks(filter: DeadLetterFilter, chunk: number, progress: (done: number, total: number) => void): number {
    const ids = this.ids(filter);
    let done = 0;
    for (let i = 0; i < ids.length; i += chunk) {
      done += this.replay({ ids: ids.slice(i, i + chunk) });
      progress(done, ids.length);
    }
    return done;
  }

  /** The dead letter with the body of its event, or undefined. */
  get(id: number): (DeadLetter & { body: Buffer }) | undefined {
    return this.db
      .prepare(
        `SELECT d.id, d.event_id AS eventId, d.sink, d.job_id AS jobId, d.type, d.attempts, d.created_at AS createdAt,
                d.failed_at AS failedAt, d.last_error AS lastError, e.body
         FROM dead_letters d JOIN events e ON e.id = d.event_id WHERE d.id = ?`,
      )
      .get(id) as (DeadLetter & { body: Buffer }) | undefined;
  }

  /**
   * Puts matching dead letters back in the queue with fresh attempts. They keep their
   * delivery id, so a receiver that dedupes by it still can. Returns how many.
   */
  replay(filter: DeadLetterFilter = {}): number {
    const { sql, params } = where(filter);
    const now = this.now();
    return this.db.transaction(() => {
      const moved = this.db
        .prepare(
          `INSERT INTO deliveries (id, event_id, sink, job_id, attempts, created_at, next_attempt_at, last_error)
           SELECT id, event_id, sink, job_id, 0, ?, ?, last_error FROM dead_letters ${sql}`,
        )
        .run(now, now, ...params).changes;
      this.db.prepare(`DELETE FROM dead_letters ${sql}`).run(...params);
      return moved;
    })();
  }

  /** Deletes matching dead letters (and events nothing refers to any more). */
  drop(filter: DeadLetterFilter = {}): number {
    const { sql, params } = where(filter);
    return this.db.transaction(() => {
      const dropped = this.db.prepare(`DELETE FROM dead_letters ${sql}`).run(...params).changes;
      this.db
        .prepare(
          `DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = events.id)
             AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = events.id)`,
        )
        .run();
      return dropped;
    })();
  }
}
