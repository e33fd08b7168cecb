import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { item } from '../../../test/store-contract/store-contract.js';
import { openStore } from '../open-store.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from './migrations.js';
import { clientConfig, createPool, transaction } from './pool.js';
import { Wakeups } from './wakeups.js';
import { PostgresQueueStore, type PostgresStoreOptions } from './store.js';

/** Sessions the relay opens: what a frozen peer, a second role or a concurrent migration do to them. */
/** Polls `check` (no wall-clock assertion: only "eventually", bounded by the test timeout). */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describeWithPostgres('PostgreSQL queue: sessions, roles and migrations', () => {
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

  it('ends a frozen replica`s transaction, so a healthy one stores the same key and job within its deadline', async () => {
    const store = await open('frozen', { queryTimeoutMs: 4_000 });
    let peer: ChildProcess | undefined;
    try {
      await store.enqueue(item('job-1', 'first'));
      peer = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/frozen-peer.ts', cluster.url, 'frozen', 'firecrawl:same', 'job-1'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const [line] = (await once(peer.stdout!, 'data')) as [Buffer];
      expect(line.toString()).toBe('locked\n');
      peer.kill('SIGSTOP');
      // The same dedupe key and the same lane the frozen peer holds, and another job: all stored.
      const results = await Promise.all([
        store.enqueue(item('job-1', 'same key', { dedupeKey: 'firecrawl:same' })),
        store.enqueue(item('job-2', 'other job')),
      ]);
      expect(results.map((r) => r.duplicate)).toEqual([false, false]);
      expect(results.every((r) => typeof r.eventId === 'number')).toBe(true);
      const [lane] = (await store.claim('archive', { lanes: 10, events: 10, bytes: 1 << 20 })).filter((l) => l.jobId === 'job-1');
      expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['first', 'same key']);
    } finally {
      peer?.kill('SIGKILL');
      await store.close();
    }
  }, 60_000);

  /** A migrated schema and a role with DML rights only on it; the role's URL. */
  const dmlRole = async (role: string, schema: string): Promise<string> => {
    await (await open(schema)).close();
    await admin.query(`CREATE ROLE ${role} LOGIN;
      GRANT USAGE ON SCHEMA ${schema} TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role};`);
    return cluster.url.replace('://relay@', `://${role}@`);
  };

  it('runs as a role with DML rights only, once the owner migrated the schema', async () => {
    const store = await open('leastpriv', { url: await dmlRole('app', 'leastpriv') });
    try {
      expect((await store.enqueue(item('j', 'by app'))).eventId).toEqual(expect.any(Number));
      const [lane] = await store.claim('archive', { lanes: 1, events: 10, bytes: 1 << 20 });
      expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['by app']);
    } finally {
      await store.close();
    }
  });

  it('waits for another replica`s long migration without the statement deadline, and says so', async () => {
    // Another replica holds the migration lock for longer than the 1 s deadline.
    const other = new pg.Client({ connectionString: cluster.url });
    await other.connect();
    await other.query('BEGIN');
    await other.query(`SELECT pg_advisory_xact_lock(hashtextextended('firecrawl-relay migrate ' || 'slowmig', 0))`);
    const told: string[] = [];
    const opening = open('slowmig', { queryTimeoutMs: 1_000, onMigrationWait: () => told.push('waiting') });
    await new Promise((r) => setTimeout(r, 2_500));
    await other.query('COMMIT');
    await other.end();
    const store = await opening;
    await store.close();
    expect(told).toEqual(['waiting']);
  }, 30_000);

  it('does not migrate from an offline command: an older schema is refused and left as it was', async () => {
    const queue = { store: 'postgres', url: cluster.url, schema: 'offline', max_bytes: 1 << 30, dedupe_window_seconds: 60, lease_ms: 30_000, dir: '' } as const;
    const config = queue as unknown as Parameters<typeof openStore>[0];
    await expect(openStore(config)).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_SCHEMA_OLDER' });
    expect((await admin.query(`SELECT to_regclass('offline.meta') AS t`)).rows).toEqual([{ t: null }]);
    await (await openStore(config, { migrate: true })).close();
    await admin.query(`UPDATE offline.meta SET value = '3' WHERE key = 'schema_version'`);
    await expect(openStore(config)).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_SCHEMA_OLDER', message: expect.stringContaining(`schema version 3, older than this relay's (${SCHEMA_VERSION})`) });
  });

  it('says what the server answered when it refuses the relay, with its SQLSTATE, never the password', async () => {
    await admin.query(`CREATE ROLE pw LOGIN PASSWORD 'S3cretPw'`);
    const url = cluster.url.replace('://relay@', '://pw:S3cretPw@').replace(/\/[^/]*$/, '/nosuchdb');
    const err = (await open('x', { url }).then(
      (store) => store.close(),
      (e: unknown) => e,
    )) as Error;
    expect(err).toMatchObject({ code: 'RELAY_ERR_QUEUE_REFUSED', message: expect.stringContaining('(SQLSTATE 3D000)') });
    expect(err.message).not.toContain('S3cretPw');
  });

  it('rolls back a transaction abandoned before COMMIT (its caller answered 503): nothing of it is stored', async () => {
    await (await open('abandon')).close();
    const pool = createPool({ url: cluster.url, schema: 'abandon' });
    try {
      const gaveUp = new AbortController();
      const run = transaction(
        pool,
        async (client) => {
          await client.query(`INSERT INTO dedupe (key, seen_at) VALUES ('late', 0)`);
          gaveUp.abort(new Error('deadline passed'));
        },
        { abandon: gaveUp.signal },
      );
      await expect(run).rejects.toThrow('deadline passed');
      expect((await admin.query(`SELECT key FROM abandon.dedupe WHERE key = 'late'`)).rows).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('gives a group of large bodies time for its bytes: 30 MB commits under a 300 ms base deadline', async () => {
    const store = await open('large', { queryTimeoutMs: 300 });
    try {
      const result = await store.enqueue(item('j', 'x'.repeat(30_000_000)));
      expect(result.eventId).toEqual(expect.any(Number));
      expect(store.writable()).toMatchObject({ ready: true });
    } finally {
      await store.close();
    }
  }, 60_000);

  it('replays and backfills for many sinks at once: the wake-up goes after COMMIT and fits any number of sinks', async () => {
    const sinks = Array.from({ length: 200 }, (_, i) => `sink-with-a-rather-long-name-for-the-notify-payload-${String(i).padStart(3, '0')}`);
    const a = await open('manysinks', { history: { retentionMs: 3_600_000, maxBytes: 1 << 26 } });
    const b = await open('manysinks');
    try {
      const heard: string[] = [];
      b.onEnqueued((woken) => heard.push(...woken));
      await a.enqueue(item('j', 'one', { sinks }));
      await a.parkSinksExcept(new Set(), () => 'removed');
      expect(await a.deadLetters.replay({})).toBe(sinks.length);
      expect(await a.history.backfill('archive', { since: 0, until: Date.now() + 60_000 }, 100, () => undefined)).toBe(1);
      await new Promise<void>((resolve) => {
        const check = setInterval(() => heard.includes(sinks[0]!) && (clearInterval(check), resolve()), 50);
      });
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('wakes once for a burst of notifications from other replicas, with every sink they named', async () => {
    const woken: Array<ReadonlySet<string>> = [];
    const wakeups = new Wakeups({
      config: clientConfig({ url: cluster.url }),
      channel: 'burst',
      replica: 'me',
      wake: (sinks) => woken.push(sinks),
      poll: () => undefined,
      pollMs: { listening: 60_000, deaf: 100 },
    });
    wakeups.start();
    try {
      while (!wakeups.isListening()) await new Promise((r) => setTimeout(r, 20));
      // Ten commits of other replicas, sent in one round trip.
      const sends = Array.from({ length: 10 }, (_, i) => `SELECT pg_notify('burst', '${Wakeups.payload('other', [`s${i % 3}`])}')`);
      await admin.query(sends.join(';'));
      while (new Set(woken.flatMap((w) => [...w])).size < 3) await new Promise((r) => setTimeout(r, 20));
      expect(woken).toHaveLength(1);
      expect([...woken[0]!].sort()).toEqual(['s0', 's1', 's2']);
    } finally {
      await wakeups.close();
    }
  });

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
  // Back to schema 5: step 6 (indexes on events, the step a held table lock makes wait) runs
  // again on the next open, and step 7 (history bytes; its column stays, for the store still
  // open on the schema, and the step adds it only if missing).
  const oneStepBack = async (schema: string): Promise<void> =>
    void (await admin.query(`SET search_path TO ${schema};
      DROP INDEX events_unreferenced, events_unreferenced_by_time, deliveries_by_event, dead_letters_by_event;
      UPDATE meta SET value = '5' WHERE key = 'schema_version'; RESET search_path`));

  it('ends the transaction of a migrator that froze mid-step, so another replica`s ingress proceeds', async () => {
    const store = await open('migfreeze');
    await oneStepBack('migfreeze');
    // A replica migrating with the relay's session settings (as migrateOnce) freezes right after step 6's DDL (indexes on events).
    const { query_timeout: _q, statement_timeout: _s, ...config } = clientConfig({ url: cluster.url, schema: 'migfreeze', queryTimeoutMs: 1_000 });
    const migrator = new pg.Client(config);
    migrator.on('error', () => undefined);
    await migrator.connect();
    let froze!: () => void;
    const frozen = new Promise<void>((resolve) => (froze = resolve));
    const freezing = {
      query: async (text: string, values?: unknown[]) => {
        const result = await migrator.query(text, values);
        if (text === MIGRATIONS.find((m) => m.version === 6)!.sql) {
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
      expect((await admin.query(`SELECT value FROM migfreeze.meta WHERE key = 'schema_version'`)).rows).toEqual([{ value: '5' }]);
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
    const store = await open('leasefail', { url: await dmlRole('leaser', 'leasefail'), leaseMs: 600 });
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
