import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { item } from '../../../test/store-contract/store-contract.js';
import type { ClaimedLane, ClaimLimits, LaneSettlement } from '../store.js';
import type { LeaseKeeper } from './leases.js';
import { PostgresQueueStore } from './store.js';

const ALL: ClaimLimits = { lanes: 100, events: 1000, bytes: 1 << 26 };
const SINKS = ['archive', 'mirror'];
/** Job names enqueued in reverse order: their rows lie opposite to the (sink, job_id) order. */
const JOBS = Array.from({ length: 40 }, (_, i) => `job-${String(39 - i).padStart(2, '0')}`);
const ROUNDS = 25;

/** The PostgreSQL error code under a relay error (40P01: deadlock detected). */
const sqlState = (e: unknown): string => {
  for (let c = e as { code?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) if (c.code && /^[0-9A-Z]{5}$/.test(c.code)) return c.code;
  return String(e);
};

const renew = (store: PostgresQueueStore): Promise<number> => (store as unknown as { leases: LeaseKeeper }).leases.renew();

describeWithPostgres('PostgreSQL queue store: one lock order', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());

  it('runs renewals, settles, enqueues and backfills of several replicas on the same lanes without a deadlock', async () => {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const deadlocks = async (): Promise<number> =>
      Number((await admin.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
    const stores = await Promise.all(
      [1, 2, 3].map(() => PostgresQueueStore.open({ url: cluster.url, schema: 'lock_order', maxBytes: 1 << 30, dedupeWindowSeconds: 3600, leaseMs: 60_000 })),
    );
    const enqueueAll = (store: PostgresQueueStore, round: number): Promise<unknown>[] =>
      JOBS.map((job) => store.enqueue(item(job, `${job}/${round}`, { sinks: SINKS })));
    const before = await deadlocks();
    const errors: unknown[] = [];
    try {
      await Promise.all(enqueueAll(stores[0]!, 0));
      for (let round = 1; round <= ROUNDS; round++) {
        const claimed: ClaimedLane[][] = await Promise.all(stores.flatMap((s) => SINKS.map((sink) => s.claim(sink, ALL))));
        const work: Promise<unknown>[] = [];
        claimed.forEach((lanes, i) => {
          const store = stores[Math.floor(i / SINKS.length)]!;
          const held: LaneSettlement[] = lanes.map((lane) => ({ lane, delivered: [lane.deliveries[0]!.id], hold: true }));
          const done: LaneSettlement[] = lanes.map((lane) => ({ lane, delivered: lane.deliveries.slice(1).map((d) => d.id) }));
          work.push(renew(store), store.settle(held).then(() => Promise.all([renew(store), store.settle(done)])));
        });
        for (const store of stores) work.push(...enqueueAll(store, round), renew(store));
        // An operator's backfill of two jobs meanwhile: it takes the same locks (lanes, then events).
        for (const job of [JOBS[round % JOBS.length]!, JOBS[(round * 7) % JOBS.length]!]) {
          work.push(stores[round % stores.length]!.history.backfill('mirror', { since: 0, jobId: job }, 500, () => undefined));
        }
        for (const r of await Promise.allSettled(work)) if (r.status === 'rejected') errors.push(r.reason);
      }
      expect({ deadlocks: (await deadlocks()) - before, errors: errors.map(sqlState) }).toEqual({ deadlocks: 0, errors: [] });
    } finally {
      for (const s of stores) await s.close().catch(() => undefined);
      await admin.end();
    }
  }, 180_000);
});
