import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { item } from '../../../test/store-contract/store-contract.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from './migrations.js';
import { clientConfig } from './pool.js';
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

  /** The schema one step back: what the last step adds is gone, the version says so. */
  const oneStepBack = async (schema: string): Promise<void> =>
    void (await admin.query(`SET search_path TO ${schema};
      DROP INDEX events_unreferenced, events_unreferenced_by_time, deliveries_by_event, dead_letters_by_event;
      UPDATE meta SET value = '${SCHEMA_VERSION - 1}' WHERE key = 'schema_version'; RESET search_path`));

  it('ends the transaction of a migrator that froze mid-step, so another replica`s ingress proceeds', async () => {
    const store = await open('migfreeze');
    await oneStepBack('migfreeze');
    // A replica migrating with the relay's session settings (as migrateOnce) freezes right after the last step's DDL.
    const { query_timeout: _q, statement_timeout: _s, ...config } = clientConfig({ url: cluster.url, schema: 'migfreeze', queryTimeoutMs: 1_000 });
    const migrator = new pg.Client(config);
    migrator.on('error', () => undefined);
    await migrator.connect();
    let froze!: () => void;
    const frozen = new Promise<void>((resolve) => (froze = resolve));
    const freezing = {
      query: async (text: string, values?: unknown[]) => {
        const result = await migrator.query(text, values);
        if (text === MIGRATIONS[MIGRATIONS.length - 1]!.sql) {
          froze();
          await new Promise(() => undefined);
        }
        return result;
      },
    };
    void migrate(freezing as unknown as pg.Client, 'migfreeze', 'test', { allowed: true }).catch(() => undefined);
    try {
      await frozen;
      // It holds a SHARE lock on events (CREATE INDEX): inserts wait until the server ends its session.
      // Before: idle_in_transaction_session_timeout was 0 for migrations, the insert timed out, 503.
      expect((await store.enqueue(item('j', 'after the frozen migrator'))).eventId).toEqual(expect.any(Number));
      expect((await admin.query(`SELECT value FROM migfreeze.meta WHERE key = 'schema_version'`)).rows).toEqual([{ value: String(SCHEMA_VERSION - 1) }]);
    } finally {
      await migrator.end().catch(() => undefined);
      await store.close();
    }
  }, 30_000);

  it('retries a step whose table lock is not granted at once, letting ingress through in between', async () => {
    const store = await open('migwait');
    await oneStepBack('migwait');
    // A long transaction holds events: CREATE INDEX cannot have its SHARE lock until it ends.
    const holder = new pg.Client({ connectionString: cluster.url });
    await holder.connect();
    await holder.query(`BEGIN; INSERT INTO migwait.events (received_at, source, type, job_id, bytes, refs, body) VALUES (1, 's', 't', 'j', 2, 1, '\\x7b7d')`);
    const upgrading = open('migwait');
    try {
      await eventually(async () => (await admin.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'migwait.events'::regclass`)).rowCount! > 0);
      // Before: the waiting SHARE request queued every insert behind it, until the ingress lock timeout (503).
      expect((await store.enqueue(item('j', 'while the migration waits'))).eventId).toEqual(expect.any(Number));
      await holder.query('COMMIT');
      await (await upgrading).close();
      expect((await admin.query(`SELECT value FROM migwait.meta WHERE key = 'schema_version'`)).rows).toEqual([{ value: String(SCHEMA_VERSION) }]);
    } finally {
      await holder.end();
      await store.close();
      await upgrading.then((s) => s.close(), () => undefined);
    }
  }, 30_000);

  it('counts a lane as lost once no renewal succeeded for lease_ms, when renewals fail rather than find it gone', async () => {
    await (await open('leasefail')).close();
    await admin.query(`CREATE ROLE leaser LOGIN;
      GRANT USAGE ON SCHEMA leasefail TO leaser;
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA leasefail TO leaser;
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA leasefail TO leaser;`);
    const store = await open('leasefail', { url: cluster.url.replace('://relay@', '://leaser@'), leaseMs: 600 });
    try {
      await store.enqueue(item('j', 'e1'));
      const [lane] = await store.claim('archive', { lanes: 1, events: 10, bytes: 1 << 20 });
      // Renewals that succeed keep it: past one lease_ms, still ours.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(store.leaseLost(lane!)).toBe(false);
      // From now on every renewal fails (an error, not a token found gone): the lease runs out on the server.
      await admin.query('REVOKE UPDATE ON leasefail.lanes FROM leaser');
      // Before: renewal errors were swallowed and the lane never counted as lost; its runner went on writing.
      await eventually(() => store.leaseLost(lane!));
    } finally {
      await store.close();
    }
  });

  it('commits a small webhook apart from a large one of the same tick: a lock the large one waits on does not hold it', async () => {
    const store = await open('splitlarge');
    // Another transaction holds the large event's dedupe key: its insert waits until that ends.
    const holder = new pg.Client({ connectionString: cluster.url });
    await holder.connect();
    await holder.query(`BEGIN; INSERT INTO splitlarge.dedupe (key, seen_at) VALUES ('firecrawl:large', 0)`);
    try {
      const large = store.enqueue(item('j1', 'x'.repeat(2 * 1024 * 1024), { dedupeKey: 'firecrawl:large' }));
      const small = store.enqueue(item('j2', 'small'));
      // Before: one transaction for both, blocked on the key until the lock timeout, both 503.
      expect((await small).eventId).toEqual(expect.any(Number));
      await holder.query('ROLLBACK');
      expect((await large).eventId).toEqual(expect.any(Number));
    } finally {
      await holder.end();
      await store.close();
    }
  });
});
