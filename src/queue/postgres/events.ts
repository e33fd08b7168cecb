import type pg from 'pg';
import type { CounterDeltas } from './counters.js';
import { prepared } from './pool.js';

/**
 * Drops one reference per id given (an id twice: two references), then deletes the
 * events nothing refers to any more. The count lives on the event row, so two sinks
 * settling the same event at once queue on its lock instead of each leaving it to the other.
 * Lock order, kept by every transaction: lanes by (sink, job_id), then events by id.
 */
export async function releaseEvents(client: pg.PoolClient, eventIds: readonly number[], deltas: CounterDeltas, keepAfter: number): Promise<void> {
  if (eventIds.length === 0) return;
  const counts = new Map<number, number>();
  for (const id of eventIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const ids = [...counts.keys()].sort((a, b) => a - b);
  // Rows locked by id first (every transaction that changes several events does so): no deadlock.
  await prepared(
    client,
    'events_release_ordered',
    `WITH locked AS (SELECT id FROM events WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)
     UPDATE events e SET refs = e.refs - u.n FROM unnest($1::bigint[], $2::int[]) AS u(id, n), locked
     WHERE e.id = u.id AND locked.id = u.id`,
    [ids, ids.map((id) => counts.get(id)!)],
  );
  await freeEvents(client, ids, deltas, keepAfter);
}

/**
 * Deletes those of `ids` that nothing refers to any more (a statement after the one that
 * dropped their references), unless history keeps them: received after `keepAfter`.
 */
export async function freeEvents(client: pg.PoolClient, ids: readonly number[], deltas: CounterDeltas, keepAfter: number): Promise<void> {
  if (ids.length === 0) return;
  // Those left in place (history keeps them) count as history from now: disjoint from the freed.
  const freed = await prepared<{ kept: boolean; bytes: number }>(
    client,
    'events_free_or_keep',
    `WITH freed AS (DELETE FROM events WHERE id = ANY($1::bigint[]) AND refs <= 0 AND received_at <= $2 RETURNING bytes)
     SELECT false AS kept, bytes FROM freed
     UNION ALL SELECT true, bytes FROM events WHERE id = ANY($1::bigint[]) AND refs <= 0 AND received_at > $2`,
    [ids, keepAfter],
  );
  for (const row of freed.rows) {
    if (row.kept) deltas.historyBytes += row.bytes;
    else deltas.usedBytes -= row.bytes;
  }
}

/**
 * Adds the deliveries of the CTE `added` (sink, job_id, id) to their lanes: creates a lane
 * (due at `now`, the parameter given) or adds to its count. The upsert takes the lane's row
 * lock, so a settle that would delete the lane as empty waits for this commit and sees them.
 */
export function upsertLanes(nowParam: string): string {
  return `
  INSERT INTO lanes (sink, job_id, pending, head_id, ready_at)
  SELECT sink, job_id, count(*), min(id), ${nowParam}::bigint FROM added GROUP BY sink, job_id ORDER BY sink, job_id
  ON CONFLICT (sink, job_id) DO UPDATE SET pending = lanes.pending + excluded.pending,
    head_id = least(lanes.head_id, excluded.head_id)`;
}
