import type pg from 'pg';
import type { AttemptRecord, LaneSettlement } from '../store.js';
import { CounterDeltas } from './counters.js';
import { releaseEvents } from './events.js';
import { prepared } from './pool.js';

/** Moves one delivery to the dead letters; its bytes, or null when it was not there. */
export const KILL_DELIVERY = `
  WITH gone AS (DELETE FROM deliveries WHERE id = $1 AND sink = $2 RETURNING *)
  INSERT INTO dead_letters (id, event_id, sink, job_id, type, bytes, attempts, created_at, failed_at, last_error)
  SELECT g.id, g.event_id, g.sink, g.job_id, e.type, g.bytes, g.attempts + 1, g.created_at, $3, $4
  FROM gone g JOIN events e ON e.id = g.event_id RETURNING bytes`;

/** Pending deliveries of a sink moved to its dead letters per transaction when it is parked. */
export const PARK_CHUNK = 500;

/**
 * Moves pending deliveries of a sink to the dead letters, attempts unchanged, the oldest
 * `PARK_CHUNK` of them or (`all`) every one; how many and their bytes.
 */
export const parkSink = (all: boolean): string => `
  WITH gone AS (DELETE FROM deliveries WHERE ${all ? 'sink = $1' : `id IN (SELECT id FROM deliveries WHERE sink = $1 ORDER BY id LIMIT ${PARK_CHUNK})`} RETURNING *),
  parked AS (
    INSERT INTO dead_letters (id, event_id, sink, job_id, type, bytes, attempts, created_at, failed_at, last_error)
    SELECT g.id, g.event_id, g.sink, g.job_id, e.type, g.bytes, g.attempts, g.created_at, $2, $3
    FROM gone g JOIN events e ON e.id = g.event_id RETURNING bytes)
  SELECT count(*)::float8 AS n, sum(bytes)::float8 AS bytes FROM parked`;

/** A lane's current token (null: released), by sink and job. */
type LaneTokens = Map<string, string | null>;
const laneKey = (sink: string, job: string): string => `${sink}\u0000${job}`;

/**
 * Locks every lane settled, in (sink, job_id) order: renewals and ingress lock them in the
 * same order, so concurrent settles, renewals and enqueues never deadlock.
 */
async function lockLanes(client: pg.PoolClient, outcomes: readonly LaneSettlement[]): Promise<LaneTokens> {
  const locked = await prepared<{ sink: string; job_id: string; token: number | null }>(client, 'settle_lock_ordered',
    `SELECT l.sink, l.job_id, l.token FROM lanes l JOIN unnest($1::text[], $2::text[]) AS u(sink, job_id)
     ON l.sink = u.sink AND l.job_id = u.job_id ORDER BY l.sink, l.job_id FOR UPDATE OF l`,
    [outcomes.map((o) => o.lane.sink), outcomes.map((o) => o.lane.jobId)],
  );
  return new Map(locked.rows.map((r) => [laneKey(r.sink, r.job_id), r.token === null ? null : String(r.token)]));
}

/**
 * Settles the lanes of one sink, locked by `lockLanes`; each lane's token is compared:
 * - delivered ids are removed whoever holds the lane now (they did arrive; removing them
 *   spares the new owner a duplicate);
 * - a failure (retry, dead letter) and the release of the lane apply only for the lane's
 *   current owner. A stale owner, whose lease ran out and was taken over, changes neither
 *   the new owner's backoff nor its lease.
 * Returns whether a lane was given back due, for others to be woken.
 */
async function settleSink(
  client: pg.PoolClient,
  sink: string,
  outcomes: readonly LaneSettlement[],
  now: number,
  deltas: CounterDeltas,
  lockedTokens: LaneTokens,
  freed: number[],
): Promise<boolean> {
  const jobs = outcomes.map((o) => o.lane.jobId).sort();
  const tokens = new Map<string, string | null>();
  for (const job of jobs) if (lockedTokens.has(laneKey(sink, job))) tokens.set(job, lockedTokens.get(laneKey(sink, job))!);
  const owned = new Set(outcomes.filter((o) => tokens.get(o.lane.jobId) === o.lane.token).map((o) => o.lane.jobId));
  // Held lanes (still being written) keep their owner, token and lease; the others owned are released.
  const releasing = new Set(outcomes.filter((o) => !o.hold && owned.has(o.lane.jobId)).map((o) => o.lane.jobId));
  const removed = new Map<string, number>();
  const count = (job: string): void => void removed.set(job, (removed.get(job) ?? 0) + 1);

  const deliveredIds = outcomes.flatMap((o) => o.delivered);
  if (deliveredIds.length > 0) {
    // Their events' references are dropped once for all sinks, after every lane is settled (events come after lanes).
    const gone = await prepared<{ event_id: number; job_id: string; bytes: number }>(client, 'settle_delivered_only',
      'DELETE FROM deliveries WHERE id = ANY($1::bigint[]) AND sink = $2 RETURNING event_id, job_id, bytes',
      [deliveredIds, sink],
    );
    for (const row of gone.rows) {
      count(row.job_id);
      deltas.add(sink, -1, -row.bytes);
      freed.push(row.event_id);
    }
  }

  const retryAt = new Map<string, number>();
  for (const { lane, failure, hold } of outcomes) {
    if (!failure || hold || !owned.has(lane.jobId)) continue;
    if ('dead' in failure) {
      const dead = await client.query<{ bytes: number }>(KILL_DELIVERY, [failure.id, sink, now, failure.error]);
      for (const row of dead.rows) {
        count(lane.jobId);
        deltas.add(sink, -1, -row.bytes, 1);
      }
    } else {
      await client.query('UPDATE deliveries SET attempts = attempts + $2, last_error = $3 WHERE id = $1', [
        failure.id,
        failure.countAttempt ? 1 : 0,
        failure.error,
      ]);
      retryAt.set(lane.jobId, failure.retryAt);
    }
  }

  // Owned lanes released: deleted when empty, else due at the retry time or at once (ordered
  // by their head's age). Held lanes: their head moves, they stay leased (an emptied one stays
  // until its release). Lanes lost to a newer owner: only their count of pending goes down.
  const lanes = jobs.filter((job) => owned.has(job) || (tokens.has(job) && (removed.get(job) ?? 0) > 0));
  if (lanes.length === 0) return false;
  const released = await prepared<{ job_id: string }>(client, 'settle_release_held',
    `WITH u AS (SELECT * FROM unnest($2::text[], $3::int[], $4::bool[], $5::bigint[], $6::bool[]) AS u(job_id, removed, mine, retry_at, release)),
     h AS (SELECT u.*, hd.id AS head, hd.created_at FROM u
           LEFT JOIN LATERAL (SELECT id, created_at FROM deliveries d WHERE d.sink = $1 AND d.job_id = u.job_id ORDER BY id LIMIT 1) hd
           ON u.mine),
     emptied AS (DELETE FROM lanes l USING h WHERE l.sink = $1 AND l.job_id = h.job_id AND h.release AND h.head IS NULL),
     kept AS (
       UPDATE lanes l SET pending = l.pending - h.removed,
         head_id = CASE WHEN h.mine THEN coalesce(h.head, l.head_id) ELSE l.head_id END,
         ready_at = CASE WHEN h.release THEN coalesce(h.retry_at, h.created_at) ELSE l.ready_at END,
         owner = CASE WHEN h.release THEN NULL ELSE l.owner END,
         token = CASE WHEN h.release THEN NULL ELSE l.token END
       FROM h WHERE l.sink = $1 AND l.job_id = h.job_id AND (h.head IS NOT NULL OR NOT h.release)
       RETURNING l.job_id, h.release)
     SELECT job_id FROM kept WHERE release`,
    [
      sink,
      lanes,
      lanes.map((job) => removed.get(job) ?? 0),
      lanes.map((job) => owned.has(job)),
      lanes.map((job) => retryAt.get(job) ?? null),
      lanes.map((job) => releasing.has(job)),
    ],
  );
  const kept = new Set(released.rows.map((r) => r.job_id));
  return outcomes.some((o) => kept.has(o.lane.jobId) && o.delivered.length === 0 && !o.failure);
}

/**
 * Records what writes achieved in the lock order every transaction keeps: lanes by (sink,
 * job_id), then events by id. Returns the counter changes, and the sinks with a lane given back due.
 */
export async function settleLanes(
  client: pg.PoolClient,
  outcomes: readonly LaneSettlement[],
  now: number,
  history: { enabled: boolean; keepAfter: number } = { enabled: false, keepAfter: Number.MAX_SAFE_INTEGER },
): Promise<{ deltas: CounterDeltas; givenBack: string[] }> {
  const deltas = new CounterDeltas();
  if (history.enabled) await recordAttempts(client, outcomes);
  const bySink = new Map<string, LaneSettlement[]>();
  for (const o of outcomes) bySink.set(o.lane.sink, [...(bySink.get(o.lane.sink) ?? []), o]);
  const tokens = await lockLanes(client, outcomes);
  const givenBack: string[] = [];
  const freed: number[] = [];
  for (const sink of [...bySink.keys()].sort()) {
    if (await settleSink(client, sink, bySink.get(sink)!, now, deltas, tokens, freed)) givenBack.push(sink);
  }
  await releaseEvents(client, freed, deltas, history.keepAfter);
  await deltas.write(client);
  return { deltas, givenBack };
}

/** Every attempt of the settled writes, in one statement. */
async function recordAttempts(client: pg.PoolClient, outcomes: readonly LaneSettlement[]): Promise<void> {
  const rows: Array<AttemptRecord & { sink: string }> = outcomes.flatMap((o) => (o.attempts ?? []).map((a) => ({ ...a, sink: o.lane.sink })));
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO attempts (event_id, delivery_id, sink, at, duration_ms, outcome, status_code, error)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::int[], $6::text[], $7::int[], $8::text[])`,
    [
      rows.map((r) => r.eventId),
      rows.map((r) => r.deliveryId),
      rows.map((r) => r.sink),
      rows.map((r) => r.at),
      rows.map((r) => r.durationMs),
      rows.map((r) => r.outcome),
      rows.map((r) => r.statusCode),
      rows.map((r) => r.error),
    ],
  );
}
