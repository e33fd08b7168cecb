import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { item } from '../../../test/store-contract/store-contract.js';
import { PostgresQueueStore, type PostgresStoreOptions } from './store.js';

/** Polls `check` (no wall-clock assertion: only "eventually", bounded by the test timeout). */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describeWithPostgres('PostgreSQL queue: a stall in one place does not hold up what does not depend on it', () => {
  let cluster: PostgresCluster;
  let admin: pg.Client;
  beforeAll(async () => {
    cluster = await startPostgres();
    admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await cluster?.destroy();
  });

  const open = (schema: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresQueueStore> =>
    PostgresQueueStore.open({ url: cluster.url, schema, maxBytes: 1 << 30, dedupeWindowSeconds: 3600, ...options });

  it('accepts a committed group while the NOTIFY after it stalls: the wake-up does not hold the acks', async () => {
    const store = await open('notifystall', { queryTimeoutMs: 1_000 });
    // The server stalls on the post-commit pg_notify only, until the test lets it go.
    let letGo!: () => void;
    const stalled = new Promise<void>((resolve) => (letGo = resolve));
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string };
      const text = typeof config === 'string' ? config : config?.text;
      if (text?.startsWith('SELECT pg_notify')) return stalled.then(() => (query as (...a: unknown[]) => unknown).apply(this, args));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      // Before: the group waited for the NOTIFY, past its 1 s deadline, and was answered 503.
      expect((await store.enqueue(item('j', 'committed'))).eventId).toEqual(expect.any(Number));
      expect((await admin.query(`SELECT count(*)::int AS n FROM notifystall.events`)).rows).toEqual([{ n: 1 }]);
    } finally {
      pg.Client.prototype.query = query;
      letGo();
      await store.close();
    }
  });
});
