import { setImmediate as yieldToIngress } from 'node:timers/promises';
import type pg from 'pg';
import type { DeadLetter, DeadLetterFilter, DeadLetterStore } from '../store.js';
import { CounterDeltas } from './counters.js';
import { releaseEvents, upsertLanes } from './events.js';
import { transaction } from './pool.js';

function where(filter: DeadLetterFilter, params: unknown[]): string {
  const clauses: string[] = [];
  const add = (clause: string, value: unknown): void => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(clause.replace('?', `$${params.length}`));
  };
  add('id = ANY(?::bigint[])', filter.ids);
  add('sink = ?', filter.sink);
  add('type = ?', filter.type);
  add('job_id = ?', filter.jobId);
  add('failed_at >= ?', filter.since);
  add('failed_at < ?', filter.until);
  return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
}

/**
 * Dead letters dropped per transaction (drop, expire, trim), with a turn of the event loop
 * between two: no transaction holds locks on more rows than this, so ingress commits and
 * other replicas' settles never queue behind a long delete.
 */
const DROP_CHUNK = 500;

const COLUMNS = `id, event_id AS "eventId", sink, job_id AS "jobId", type, attempts, created_at AS "createdAt",
  failed_at AS "failedAt", last_error AS "lastError"`;

/** Dead letters in PostgreSQL; every change keeps lanes, events and counters in step. */
export class PgDeadLetters implements DeadLetterStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
    /** Called after a commit that changed counters; `wake` lists sinks given deliveries. */
    private readonly committed: (deltas: CounterDeltas, wake: ReadonlySet<string>) => void,
    /** Tells the other replicas, inside the transaction (so only if it commits), which sinks got work. */
    private readonly notify: (client: pg.PoolClient, sinks: ReadonlySet<string>) => Promise<void>,
    /** Events received after this are kept for history when nothing refers to them any more. */
    private readonly historyCutoff: () => number,
  ) {}

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const params: unknown[] = [];
    const sql = where(filter, params);
    const limit = filter.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
    return (await this.pool.query<DeadLetter>(`SELECT ${COLUMNS} FROM dead_letters ${sql} ORDER BY id${limit}`, params)).rows;
  }

  async get(id: number): Promise<(DeadLetter & { body: Buffer }) | undefined> {
    const rows = await this.pool.query<DeadLetter & { body: Buffer }>(
      `SELECT d.id, d.event_id AS "eventId", d.sink, d.job_id AS "jobId", d.type, d.attempts, d.created_at AS "createdAt",
              d.failed_at AS "failedAt", d.last_error AS "lastError", e.body
       FROM dead_letters d JOIN events e ON e.id = d.event_id WHERE d.id = $1`,
      [id],
    );
    return rows.rows[0];
  }

  /**
   * Puts the matching dead letters back in their lanes with fresh attempts. They keep their
   * delivery id, as in the SQLite store, so a receiver that dedupes by it still can; a lane
   * delivers by id, so a replayed delivery goes before the later ones of its job. Returns how many.
   */
  async replay(filter: DeadLetterFilter): Promise<number> {
    const now = this.now();
    const deltas = new CounterDeltas();
    const moved = await transaction(this.pool, async (client) => {
      const params: unknown[] = [now];
      const sql = where(filter, params);
      const rows = await client.query<{ sink: string; n: number; bytes: number }>(
        `WITH moved AS (DELETE FROM dead_letters ${sql} RETURNING *),
         added AS (
           INSERT INTO deliveries (id, event_id, sink, job_id, bytes, attempts, created_at, last_error)
           SELECT id, event_id, sink, job_id, bytes, 0, $1, last_error FROM moved
           RETURNING id, sink, job_id, bytes),
         lanes_added AS (${upsertLanes('$1')} RETURNING 1)
         SELECT sink, count(*)::float8 AS n, sum(bytes)::float8 AS bytes FROM added GROUP BY sink`,
        params,
      );
      for (const r of rows.rows) deltas.add(r.sink, r.n, r.bytes, -r.n);
      await deltas.write(client);
      return rows.rows;
    }, {
      // A `dlq replay` run beside the relays, or through one relay's admin API, wakes them all:
      // after COMMIT, as ingress does (a NOTIFY in the transaction fails it when the payload is too long).
      afterCommit: async (client, rows) => {
        if (rows.length > 0) await this.notify(client, new Set(rows.map((r) => r.sink)));
      },
    });
    this.committed(deltas, new Set(moved.map((r) => r.sink)));
    return moved.reduce((sum, r) => sum + r.n, 0);
  }

  async replayInChunks(filter: DeadLetterFilter, chunk: number, progress: (done: number, total: number) => void): Promise<number> {
    const params: unknown[] = [];
    const ids = (await this.pool.query<{ id: number }>(`SELECT id FROM dead_letters ${where(filter, params)} ORDER BY id`, params)).rows.map(
      (r) => r.id,
    );
    let done = 0;
    for (let i = 0; i < ids.length; i += chunk) {
      done += await this.replay({ ids: ids.slice(i, i + chunk) });
      progress(done, ids.length);
    }
    return done;
  }

  /** Deletes the matching dead letters, and the events nothing refers to any more, in chunks. */
  async drop(filter: DeadLetterFilter): Promise<number> {
    let dropped = 0;
    for (;;) {
      const n = await this.dropChunk(filter);
      if (n === 0) return dropped;
      dropped += n;
      await yieldToIngress();
    }
  }

  /** One transaction: the oldest `DROP_CHUNK` matching dead letters; how many. */
  private async dropChunk(filter: DeadLetterFilter): Promise<number> {
    const deltas = new CounterDeltas();
    const dropped = await transaction(this.pool, async (client) => {
      const params: unknown[] = [];
      const gone = await client.query<{ sink: string; event_id: number }>(
        `DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ${where(filter, params)} ORDER BY id LIMIT ${DROP_CHUNK})
         RETURNING sink, event_id`,
        params,
      );
      for (const row of gone.rows) deltas.add(row.sink, 0, 0, -1);
      await releaseEvents(client, gone.rows.map((r) => r.event_id), deltas, this.historyCutoff());
      await deltas.write(client);
      return gone.rows.length;
    });
    this.committed(deltas, new Set());
    return dropped;
  }

  async trimToBytes(maxBytes: number): Promise<number> {
    // Newest first, summing their events' bytes: the ones past the budget are the oldest.
    const over = await this.pool.query<{ id: string }>(
      `SELECT id FROM (SELECT d.id, sum(e.bytes) OVER (ORDER BY d.id DESC) AS kept
         FROM dead_letters d JOIN events e ON e.id = d.event_id) x WHERE kept > $1 ORDER BY id`,
      [maxBytes],
    );
    const ids = over.rows.map((r) => Number(r.id));
    let dropped = 0;
    for (let i = 0; i < ids.length; i += DROP_CHUNK) dropped += await this.drop({ ids: ids.slice(i, i + DROP_CHUNK) });
    return dropped;
  }

  expire(before: number): Promise<number> {
    return this.drop({ until: before });
  }
}
