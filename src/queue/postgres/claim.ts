import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ClaimLimits, StoredDelivery } from '../store.js';
import { prepared } from './pool.js';

interface HeadRow {
  job_id: string;
  id: number;
  bytes: number;
}

export interface LaneTake {
  jobId: string;
  ids: number[];
}

/**
 * Splits the limits over the lanes, oldest lane first, as the SQLite store does: each lane
 * takes its share of the events left (so one long lane cannot take them all) while the
 * bytes last (past the first delivery); the first lane that gets nothing ends the claim.
 */
export function chooseDeliveries(lanes: readonly string[], heads: readonly HeadRow[], limits: ClaimLimits): LaneTake[] {
  const byLane = new Map<string, HeadRow[]>(lanes.map((job) => [job, []]));
  for (const row of heads) if (row.id !== null) byLane.get(row.job_id)?.push(row);
  const chosen: LaneTake[] = [];
  let events = 0;
  let bytes = 0;
  for (let i = 0; i < lanes.length && events < limits.events; i++) {
    const share = Math.max(1, Math.ceil((limits.events - events) / (lanes.length - i)));
    const ids: number[] = [];
    for (const row of byLane.get(lanes[i]!)!.slice(0, share)) {
      if (events > 0 && bytes + row.bytes > limits.bytes) break;
      ids.push(row.id);
      events++;
      bytes += row.bytes;
    }
    if (ids.length === 0) break;
    chosen.push({ jobId: lanes[i]!, ids });
  }
  return chosen;
}

/**
 * Takes due lanes of `sink`: locks the oldest due ones no other transaction holds (SKIP
 * LOCKED: replicas claiming at once get different lanes), reads their heads' ids and
 * sizes, and leases the lanes it keeps: owner, a fresh random token, `ready_at` moved to the
 * lease's end so that nobody else finds them due until it runs out.
 */
export async function claimLanes(
  client: pg.PoolClient,
  sink: string,
  limits: ClaimLimits,
  lease: { owner: string; now: number; leaseMs: number },
): Promise<Array<LaneTake & { token: string }>> {
  // The due lanes no other transaction holds, oldest first, with the ids and sizes of their first deliveries.
  const heads = await prepared<HeadRow & { lane: string }>(client, 'claim_heads', 
    `WITH c AS (SELECT job_id, ready_at, head_id FROM lanes WHERE sink = $1 AND ready_at <= $2
                ORDER BY ready_at, head_id LIMIT $3 FOR UPDATE SKIP LOCKED)
     SELECT c.job_id AS lane, h.job_id, h.id, h.bytes FROM c
     LEFT JOIN LATERAL (SELECT job_id, id, bytes FROM deliveries d WHERE d.sink = $1 AND d.job_id = c.job_id ORDER BY id LIMIT $4) h ON true
     ORDER BY c.ready_at, c.head_id, h.id`,
    [sink, lease.now, Math.max(1, Math.min(limits.lanes, limits.events)), Math.max(1, limits.events)],
  );
  if (heads.rows.length === 0) return [];
  const lanes = [...new Set(heads.rows.map((r) => r.lane))];
  const chosen = chooseDeliveries(lanes, heads.rows, limits);
  // A lane left empty by a settle that had lost its lease, and whose owner then died.
  const empty = [...new Set(heads.rows.filter((h) => h.id === null).map((h) => h.lane))];
  if (empty.length > 0) await client.query('DELETE FROM lanes WHERE sink = $1 AND job_id = ANY($2::text[]) AND pending <= 0', [sink, empty]);
  if (chosen.length === 0) return [];
  const tokens = chosen.map(() => leaseToken());
  await prepared(client, 'claim_lease_random',
    `UPDATE lanes l SET owner = $3, token = u.token, ready_at = $4
     FROM unnest($2::text[], $5::bigint[]) AS u(job_id, token) WHERE l.sink = $1 AND l.job_id = u.job_id`,
    [sink, chosen.map((c) => c.jobId), lease.owner, lease.now + lease.leaseMs, tokens],
  );
  return chosen.map((c, i) => ({ ...c, token: String(tokens[i]) }));
}

/**
 * A lease token: random, not from a sequence. Claims commit without waiting for the WAL
 * flush, so after a crash of PostgreSQL a sequence can hand out a token again that a
 * replica still holds, and that replica's late settle would pass the fence. 48 random bits
 * (exact as a JavaScript number) make a repeat for one lane practically impossible.
 */
export function leaseToken(): number {
  return randomBytes(6).readUIntBE(0, 6);
}

/** The deliveries of the claimed lanes with their events' bodies, by id. */
export async function readDeliveries(pool: pg.Pool, ids: readonly number[]): Promise<Map<number, StoredDelivery>> {
  const rows = await prepared<StoredDelivery>(pool, 'read_deliveries', 
    `SELECT d.id, d.event_id AS "eventId", d.sink, d.job_id AS "jobId", d.attempts, d.created_at AS "createdAt",
            e.received_at AS "receivedAt", e.source, e.type, e.body
     FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(rows.rows.map((r) => [r.id, r]));
}
