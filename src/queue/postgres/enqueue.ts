import type pg from 'pg';
import { RelayError } from '../../errors.js';
import type { EnqueueItem, EnqueueResult, SinkLimit } from '../store.js';
import { CounterDeltas } from './counters.js';
import { upsertLanes } from './events.js';
import { prepared } from './pool.js';

/**
 * Events per INSERT: 9 parameters each, and a statement takes at most 65,535. Bodies stay
 * binary parameters (an unnest of bytea[] would send them as hex text, twice the bytes).
 */
export const EVENTS_PER_INSERT = 7_000;

export interface EnqueueContext {
  now: number;
  dedupeWindowMs: number;
  limits: ReadonlyMap<string, SinkLimit>;
  /** Pending bytes of a sink as last known (snapshot plus this replica's commits). */
  pendingBytes: (sink: string) => number;
  /** The queue's bytes as last known, and its `max_bytes`: checked before each event of the group. */
  usedBytes: number;
  maxBytes: number;
  /** History is on: an event no route matched is stored too (no deliveries), so the console shows it. */
  keepUnrouted: boolean;
}

/** What became of each item: stored (or a duplicate), or refused before the transaction. */
export type Outcome = { result: EnqueueResult } | { error: RelayError };

interface Planned {
  index: number;
  item: EnqueueItem;
  deliver: string[];
  parked: string[];
}

/**
 * Applies `max_bytes` and `max_pending_bytes` before anything is written. `max_bytes` is
 * checked before each event, counting the batch's earlier ones, so a batch passes it by one
 * event's body at most. A sink that is full refuses the
 * event (`reject`) or takes it straight into its dead letters (`dead_letter`). Bytes of the
 * batch's earlier events count, so one burst cannot overshoot by a whole batch.
 */
function planBounds(items: readonly EnqueueItem[], ctx: EnqueueContext): { planned: Planned[]; refused: Map<number, RelayError> } {
  const added = new Map<string, number>();
  const planned: Planned[] = [];
  const refused = new Map<number, RelayError>();
  let used = ctx.usedBytes;
  items.forEach((item, index) => {
    if (used >= ctx.maxBytes) return void refused.set(index, new RelayError('RELAY_ERR_QUEUE_FULL', [used, ctx.maxBytes]));
    const deliver: string[] = [];
    const parked: string[] = [];
    for (const sink of item.sinks) {
      const limit = ctx.limits.get(sink);
      const held = ctx.pendingBytes(sink) + (added.get(sink) ?? 0);
      if (!limit || held < limit.maxPendingBytes) deliver.push(sink);
      else if (limit.whenFull === 'dead_letter') parked.push(sink);
      else if (!refused.has(index)) refused.set(index, new RelayError('RELAY_ERR_QUEUE_SINK_FULL', [sink, held, limit.maxPendingBytes]));
    }
    if (refused.has(index)) return;
    for (const sink of deliver) added.set(sink, (added.get(sink) ?? 0) + item.body.length);
    if (item.sinks.length > 0 || ctx.keepUnrouted) used += item.body.length;
    planned.push({ index, item, deliver, parked });
  });
  return { planned, refused };
}

/** Keys already seen within the window, and repeats inside the batch: both duplicates. */
async function findDuplicates(client: pg.PoolClient, planned: readonly Planned[], ctx: EnqueueContext): Promise<Set<number>> {
  const duplicates = new Set<number>();
  const first = new Map<string, number>();
  for (const { index, item } of planned) {
    if (item.dedupeKey === null) continue;
    if (first.has(item.dedupeKey)) duplicates.add(index);
    else first.set(item.dedupeKey, index);
  }
  if (first.size === 0) return duplicates;
  // Sorted, so two replicas inserting overlapping keys lock them in the same order.
  const keys = [...first.keys()].sort();
  const fresh = await prepared<{ key: string }>(client, 'dedupe_put', 
    `INSERT INTO dedupe (key, seen_at) SELECT k, $2 FROM unnest($1::text[]) AS k ORDER BY k
     ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at WHERE dedupe.seen_at <= $3
     RETURNING key`,
    [keys, ctx.now, ctx.now - ctx.dedupeWindowMs],
  );
  const stored = new Set(fresh.rows.map((r) => r.key));
  for (const [key, index] of first) if (!stored.has(key)) duplicates.add(index);
  return duplicates;
}

/**
 * One group commit: dedupe keys, events (multi-row inserts of up to 8,000, bodies as binary
 * parameters), their deliveries and lanes (one statement), parked dead letters, counters.
 * Returns the outcome of each item, the counter changes and the sinks given new deliveries.
 */
export async function commitEnqueue(
  client: pg.PoolClient,
  items: readonly EnqueueItem[],
  ctx: EnqueueContext,
): Promise<{ outcomes: Outcome[]; deltas: CounterDeltas; touched: Set<string> }> {
  const { planned, refused } = planBounds(items, ctx);
  const outcomes: Outcome[] = items.map((_, i) => {
    const error = refused.get(i);
    return error ? { error } : { result: { eventId: null, duplicate: false, parked: [] } };
  });
  const deltas = new CounterDeltas();
  const touched = new Set<string>();
  const duplicates = await findDuplicates(client, planned, ctx);
  for (const index of duplicates) outcomes[index] = { result: { eventId: null, duplicate: true, parked: [] } };
  const stored = planned.filter((p) => !duplicates.has(p.index) && (p.item.sinks.length > 0 || ctx.keepUnrouted));
  if (stored.length === 0) return { outcomes, deltas, touched };

  const ids = (
    await prepared<{ id: number }>(client, 'event_ids', `SELECT nextval('events_id_seq') AS id FROM generate_series(1, $1::int)`, [stored.length])
  ).rows.map((r) => r.id);

  for (let start = 0; start < stored.length; start += EVENTS_PER_INSERT) {
    const params: unknown[] = [];
    const rows = stored.slice(start, start + EVENTS_PER_INSERT).map(({ item, deliver, parked }, i) => {
      const b = params.length;
      params.push(ids[start + i], ctx.now, item.source, item.type, item.jobId, item.body.length, deliver.length + parked.length, item.body, item.url ?? null);
      deltas.usedBytes += item.body.length;
      // Unrouted (kept for history): nothing will refer to it.
      if (deliver.length + parked.length === 0) deltas.historyBytes += item.body.length;
      return `($${b + 1}::bigint,$${b + 2}::bigint,$${b + 3},$${b + 4},$${b + 5},$${b + 6}::int,$${b + 7}::int,$${b + 8}::bytea,$${b + 9})`;
    });
    await client.query(`INSERT INTO events (id, received_at, source, type, job_id, bytes, refs, body, url) VALUES ${rows.join(',')}`, params);
  }

  const d = { event: [] as number[], sink: [] as string[], job: [] as string[], bytes: [] as number[] };
  const p = { event: [] as number[], sink: [] as string[], job: [] as string[], type: [] as string[], bytes: [] as number[], reason: [] as string[] };
  stored.forEach(({ index, item, deliver, parked }, i) => {
    for (const sink of deliver) {
      d.event.push(ids[i]!), d.sink.push(sink), d.job.push(item.jobId), d.bytes.push(item.body.length);
      deltas.add(sink, 1, item.body.length);
      touched.add(sink);
    }
    for (const sink of parked) {
      const limit = ctx.limits.get(sink)!;
      p.event.push(ids[i]!), p.sink.push(sink), p.job.push(item.jobId), p.type.push(item.type), p.bytes.push(item.body.length);
      p.reason.push(`sink "${sink}" was over its max_pending_bytes (${limit.maxPendingBytes}) when the event arrived`);
      deltas.add(sink, 0, 0, 1);
    }
    outcomes[index] = { result: { eventId: ids[i]!, duplicate: false, parked } };
  });
  if (d.event.length > 0) {
    // Ordered by event, so delivery ids follow acceptance order within every lane.
    await prepared(
      client,
      'deliveries_put',
      `WITH added AS (
         INSERT INTO deliveries (event_id, sink, job_id, bytes, created_at)
         SELECT e, s, j, b, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS u(e, s, j, b, o) ORDER BY o
         RETURNING id, sink, job_id)
       ${upsertLanes('$5')}`,
      [d.event, d.sink, d.job, d.bytes, ctx.now],
    );
  }
  if (p.event.length > 0) {
    await client.query(
      `INSERT INTO dead_letters (id, event_id, sink, job_id, type, bytes, attempts, created_at, failed_at, last_error)
       SELECT nextval('deliveries_id_seq'), e, s, j, t, b, 0, $7, $7, r
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) AS u(e, s, j, t, b, r)`,
      [p.event, p.sink, p.job, p.type, p.bytes, p.reason, ctx.now],
    );
  }
  await deltas.write(client);
  return { outcomes, deltas, touched };
}
