import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { item } from '../../../test/store-contract/store-contract.js';
import { PostgresQueueStore, type PostgresStoreOptions } from './store.js';

describeWithPostgres('PostgreSQL queue store: where the tables are, and who may use them', () => {
  let cluster: PostgresCluster;
  const stores: PostgresQueueStore[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });

  const open = async (url: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresQueueStore> => {
    const store = await PostgresQueueStore.open({ url, maxBytes: 1 << 30, dedupeWindowSeconds: 3600, ...options });
    stores.push(store);
    return store;
  };
  const sql = async (url: string, statements: string): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statements);
    } finally {
      await client.end();
    }
  };

  it('keeps a relay without queue.schema on public when a schema named after its role appears later', async () => {
    // The cluster's role is "relay": the server's search_path ("$user", public) would pick relay.* once it exists.
    const url = await cluster.createDatabase('pinned');
    const first = await open(url);
    expect(await first.enqueue(item('j', 'e1', { dedupeKey: 'k1' }))).toMatchObject({ duplicate: false });
    await open(url, { schema: 'relay' }); // another relay, configured with `schema: relay`, creates relay.*
    const later = await open(url); // a replica of the first one, (re)started after
    expect(await later.enqueue(item('j', 'e1', { dedupeKey: 'k1' }))).toMatchObject({ duplicate: true });
    const [lane] = await later.claim('archive', { lanes: 10, events: 10, bytes: 1 << 20 });
    expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['e1']);
  });

  it('refuses to start as a role missing a table right, naming table, privilege and the GRANT to run', async () => {
    const url = await cluster.createDatabase('rights');
    await (await open(url, { schema: 'q' })).close(); // migrated by the owner
    await sql(
      url,
      `CREATE ROLE limited LOGIN;
       GRANT USAGE ON SCHEMA q TO limited;
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA q TO limited;
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA q TO limited;
       REVOKE INSERT ON q.attempts FROM limited;`,
    );
    const asLimited = url.replace('//relay@', '//limited@');
    await expect(open(asLimited, { schema: 'q' })).rejects.toMatchObject({
      code: 'RELAY_ERR_QUEUE_PRIVILEGE',
      message: expect.stringMatching(/role "limited".*missing INSERT on q\.attempts; run as the tables' owner: GRANT INSERT ON "q"\.attempts TO "limited";$/),
    });
    await sql(url, 'GRANT INSERT ON q.attempts TO limited');
    const store = await open(asLimited, { schema: 'q' });
    expect(await store.enqueue(item('j', 'e1'))).toMatchObject({ duplicate: false });
  });
});
