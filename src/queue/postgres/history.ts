import type pg from 'pg';
import type { EventDetail, EventFilter, EventSummary, HistoryStore, SinkMinute, SinkOutcome } from '../store.js';

/**
 * History on PostgreSQL is not kept yet: events go once delivered and attempts are not
 * recorded. What the store still holds (pending deliveries, dead letters) is listed, so the
 * console shows what waits and what failed; backfill finds nothing delivered to replay.
 */
export class PgHistory implements HistoryStore {
  readonly enabled = false;

  constructor(private readonly pool: pg.Pool) {}

  async list(filter: EventFilter): Promise<EventSummary[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown): void => {
      params.push(value);
      clauses.push(clause.replace('?', `$${params.length}`));
    };
    if (filter.type !== undefined) add('e.type = ?', filter.type);
    if (filter.jobId !== undefined) add('e.job_id = ?', filter.jobId);
    if (filter.since !== undefined) add('e.received_at >= ?', filter.since);
    if (filter.until !== undefined) add('e.received_at < ?', filter.until);
    if (filter.before !== undefined) add('e.id < ?', filter.before);
    const limit = Math.max(1, Math.min(500, Math.floor(filter.limit ?? 50)));
    const rows = await this.pool.query<{ id: string; receivedAt: string; source: string; type: string; jobId: string }>(
      `SELECT e.id, e.received_at AS "receivedAt", e.source, e.type, e.job_id AS "jobId" FROM events e
       ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY e.id DESC LIMIT ${limit}`,
      params,
    );
    const out = rows.rows.map((r) => ({ id: Number(r.id), receivedAt: Number(r.receivedAt), source: r.source, type: r.type, jobId: r.jobId, sinks: {} as Record<string, SinkOutcome> }));
    const ids = out.map((e) => e.id);
    if (ids.length === 0) return out;
    const byId = new Map(out.map((e) => [e.id, e]));
    const pending = await this.pool.query<{ eventId: string; sink: string; attempts: number }>(
      'SELECT event_id AS "eventId", sink, attempts FROM deliveries WHERE event_id = ANY($1::bigint[])',
      [ids],
    );
    for (const d of pending.rows) byId.get(Number(d.eventId))!.sinks[d.sink] = d.attempts > 0 ? 'retrying' : 'pending';
    const dead = await this.pool.query<{ eventId: string; sink: string }>(
      'SELECT event_id AS "eventId", sink FROM dead_letters WHERE event_id = ANY($1::bigint[])',
      [ids],
    );
    for (const d of dead.rows) byId.get(Number(d.eventId))!.sinks[d.sink] = 'dead_lettered';
    const wanted = filter.outcome;
    return wanted === undefined ? out : out.filter((e) => Object.values(e.sinks).includes(wanted));
  }

  async get(id: number): Promise<EventDetail | undefined> {
    const [summary] = await this.list({ before: id + 1, since: undefined, limit: 1 });
    if (!summary || summary.id !== id) return undefined;
    const body = await this.pool.query<{ body: Buffer }>('SELECT body FROM events WHERE id = $1', [id]);
    return { ...summary, body: body.rows[0]!.body, attempts: [] };
  }

  async activity(): Promise<SinkMinute[]> {
    return [];
  }

  async backfill(): Promise<number> {
    return 0;
  }

  async prune(): Promise<number> {
    return 0;
  }
}
