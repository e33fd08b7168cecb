import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { freePort } from '../../../test/helpers/free-port.js';
import { item } from '../../../test/store-contract/store-contract.js';
import type { ClaimLimits } from '../store.js';
import { listQuery, pruneVictims } from './history.js';
import { SCHEMA_VERSION } from './migrations.js';
import { PostgresQueueStore, type PostgresStoreOptions } from './store.js';

const ALL: ClaimLimits = { lanes: 100, events: 1000, bytes: 1 << 26 };

/** Polls `check` (no wall-clock assertion: only "eventually", bounded by the test timeout). */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describeWithPostgres('PostgreSQL queue store: several replicas', () => {
  let cluster: PostgresCluster;
  let schemas = 0;
  let schema = '';
  const stores: PostgresQueueStore[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });

  const replica = async (options: Partial<PostgresStoreOptions> = {}): Promise<PostgresQueueStore> => {
    const store = await PostgresQueueStore.open({ url: cluster.url, schema, maxBytes: 1 << 30, dedupeWindowSeconds: 3600, ...options });
    stores.push(store);
    return store;
  };
  const fresh = (): void => void (schema = `replicas_${++schemas}`);

  it('gives replicas claiming at once different lanes, every lane to one of them', async () => {
    fresh();
    const [a, b, c] = [await replica(), await replica(), await replica()];
    for (let i = 0; i < 30; i++) await a.enqueue(item(`job-${i}`, `e${i}`));
    const claims = await Promise.all([a, b, c, a, b, c].map((s) => s.claim('archive', { ...ALL, lanes: 7 })));
    const jobs = claims.flat().map((l) => l.jobId);
    expect(new Set(jobs).size).toBe(jobs.length);
    const rest = await c.claim('archive', ALL);
    expect([...jobs, ...rest.map((l) => l.jobId)].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `job-${i}`).sort());
  });

  it('lets another replica take a lane over once its lease ran out, and fences the stale owner`s settle', async () => {
    fresh();
    let clock = Date.now();
    const a = await replica({ leaseMs: 10_000, now: () => clock });
    const b = await replica({ leaseMs: 10_000, now: () => clock });
    await a.enqueue(item('j', 'e1'));
    await a.enqueue(item('j', 'e2'));
    const [stale] = await a.claim('archive', ALL);
    expect(await b.claim('archive', ALL)).toEqual([]);
    await a.close(); // a replica that died: no more renewals
    clock += 20_000;
    const [taken] = await b.claim('archive', ALL);
    expect(taken!.token).not.toBe(stale!.token);
    expect(taken!.deliveries.map((d) => d.body.toString())).toEqual(['e1', 'e2']);

    // The old owner's late settle, through any replica: its retry would release the lane at once.
    const late = await replica({ now: () => clock, refreshMs: 50 });
    await late.settle([{ lane: stale!, delivered: [], failure: { id: stale!.deliveries[0]!.id, error: 'late', retryAt: clock, countAttempt: true } }]);
    expect(await late.claim('archive', ALL)).toEqual([]);
    await b.settle([{ lane: taken!, delivered: taken!.deliveries.map((d) => d.id) }]);
    expect(await late.claim('archive', ALL)).toEqual([]);
    await eventually(() => late.counters().get('archive')?.pending === 0);
    expect(late.counters().get('archive')).toMatchObject({ pendingBytes: 0, deadLetters: 0 });
  });

  it('removes what a stale owner delivered, without touching the new owner`s lease', async () => {
    fresh();
    let clock = Date.now();
    const a = await replica({ leaseMs: 10_000, now: () => clock });
    const b = await replica({ leaseMs: 10_000, now: () => clock });
    for (const e of ['e1', 'e2', 'e3']) await a.enqueue(item('j', e));
    const [stale] = await a.claim('archive', { ...ALL, events: 1 });
    await a.close();
    clock += 20_000;
    const [taken] = await b.claim('archive', ALL);
    const late = await replica({ now: () => clock });
    await late.settle([{ lane: stale!, delivered: [stale!.deliveries[0]!.id] }]);
    expect(await late.claim('archive', ALL)).toEqual([]);
    await b.settle([{ lane: taken!, delivered: [] }]);
    const [after] = await b.claim('archive', ALL);
    expect(after!.deliveries.map((d) => d.body.toString())).toEqual(['e2', 'e3']);
  });

  it('renews the lease while a write runs, so a live owner keeps its lane', async () => {
    fresh();
    const a = await replica({ leaseMs: 900 });
    const b = await replica({ leaseMs: 900 });
    await a.enqueue(item('j', 'slow'));
    const [lane] = await a.claim('archive', ALL);
    // Three leases' worth of time: without renewals b would find the lane due.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 450));
      expect(await b.claim('archive', ALL)).toEqual([]);
    }
    await a.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id] }]);
    expect(await b.claim('archive', ALL)).toEqual([]);
  });

  it('wakes the other replicas by NOTIFY when one commits, without waiting for a poll', async () => {
    fresh();
    const never = { listening: 600_000, deaf: 600_000 };
    const a = await replica({ pollMs: never });
    const b = await replica({ pollMs: never });
    await eventually(() => a.listening() && b.listening());
    const woken: string[] = [];
    b.onEnqueued((sinks) => woken.push(...sinks));
    await a.enqueue(item('j', 'x', { sinks: ['kafka'] }));
    await eventually(() => woken.length > 0);
    expect(woken).toEqual(['kafka']);

    // A dead letter replayed from elsewhere (the dlq command, another relay's admin API) wakes it too.
    const [lane] = await a.claim('kafka', ALL);
    await a.settle([{ lane: lane!, delivered: [], failure: { id: lane!.deliveries[0]!.id, error: 'bad', dead: true } }]);
    woken.length = 0;
    const cli = await replica({ pollMs: never });
    expect(await cli.deadLetters.replay({})).toBe(1);
    await cli.close();
    await eventually(() => woken.length > 0);
    expect(woken).toEqual(['kafka']);
  });

  it('sees dedupe keys, dead letters and counters of every replica', async () => {
    fresh();
    const a = await replica();
    const b = await replica({ refreshMs: 50 });
    expect(await a.enqueue(item('j', 'x', { dedupeKey: 'k' }))).toMatchObject({ duplicate: false });
    expect(await b.enqueue(item('j', 'x', { dedupeKey: 'k' }))).toMatchObject({ duplicate: true });
    const [lane] = await a.claim('archive', ALL);
    await a.settle([{ lane: lane!, delivered: [], failure: { id: lane!.deliveries[0]!.id, error: 'bad', dead: true } }]);
    expect(await b.deadLetters.list()).toHaveLength(1);
    await eventually(() => b.counters().get('archive')?.deadLetters === 1);
  });

  it('migrates once when replicas start together, and refuses a schema a newer relay wrote', async () => {
    fresh();
    const started = await Promise.all(Array.from({ length: 4 }, () => replica()));
    expect(started).toHaveLength(4);
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      const version = await client.query(`SELECT value FROM ${schema}.meta WHERE key = 'schema_version'`);
      expect(version.rows).toEqual([{ value: String(SCHEMA_VERSION) }]);
      await client.query(`UPDATE ${schema}.meta SET value = $1 WHERE key = 'schema_version'`, [String(SCHEMA_VERSION + 1)]);
    } finally {
      await client.end();
    }
    await expect(replica()).rejects.toMatchObject({
      code: 'RELAY_ERR_QUEUE_SCHEMA_NEWER',
      message: expect.stringContaining(`schema ${schema}) is at schema version ${SCHEMA_VERSION + 1}`),
    });
  });

  /** A fresh schema, migrated; `test` gets a client with it first on the search path. */
  const atMigratedSchema = async (test: (client: pg.Client) => Promise<void>): Promise<void> => {
    fresh();
    await (await replica()).close();
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      await client.query(`SET search_path TO ${schema}`);
      await test(client);
    } finally {
      await client.end();
    }
  };
  const plan = async (client: pg.Client, sql: string, params: unknown[]): Promise<string> =>
    (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
  const STEP_6_INDEXES = 'events_unreferenced, events_unreferenced_by_time, deliveries_by_event, dead_letters_by_event';

  it('upgrades a schema-3 queue to events_by_time and a url column, which the by-age prune and time-filtered lists read', () =>
    atMigratedSchema(async (client) => {
      // A schema-3 queue, as the previous release left it (step 4 only adds the index), nor step 6's.
      await client.query(`DROP INDEX events_by_time, ${STEP_6_INDEXES}; UPDATE meta SET value = '3' WHERE key = 'schema_version'`);
      await client.query(
        `INSERT INTO events (received_at, source, type, job_id, bytes, refs, body)
         SELECT 1700000000000 + g * 1000, 'firecrawl', 'crawl.page', 'job-' || (g % 50), 2, 0, '\\x7b7d' FROM generate_series(1, 20000) g`,
      );
      await client.query('ANALYZE events');
      const window = listQuery({ since: 1_700_000_100_000, until: 1_700_000_200_000 });
      expect(await plan(client, window.sql, window.params)).not.toContain('events_by_time');
      // Schema 3 had no url column either (step 5 adds it).
      await client.query('ALTER TABLE events DROP COLUMN url');

      await replica();
      expect((await client.query(`SELECT value FROM meta WHERE key = 'schema_version'`)).rows).toEqual([{ value: String(SCHEMA_VERSION) }]);
      expect(await plan(client, window.sql, window.params)).toContain('events_by_time');
      // Every event here is kept history (refs 0): the partial index by time (step 6) serves it.
      expect(await plan(client, pruneVictims(true), [1_700_000_300_000])).toMatch(/events_(unreferenced_)?by_time/);
    }));

  it('upgrades a schema-5 queue to indexes for the prune of a full queue and for an event`s deliveries and dead letters', () =>
    atMigratedSchema(async (client) => {
      // A full queue as schema 5 left it: 20,000 pending events (refs > 0), a few kept for history (refs 0).
      await client.query(`DROP INDEX ${STEP_6_INDEXES}; UPDATE meta SET value = '5' WHERE key = 'schema_version'`);
      await client.query(
        `INSERT INTO events (received_at, source, type, job_id, bytes, refs, body)
         SELECT 1700000000000 + g * 1000, 'firecrawl', 'crawl.page', 'job-' || (g % 50), 2, CASE WHEN g % 200 = 0 THEN 0 ELSE 1 END, '\\x7b7d'
         FROM generate_series(1, 20000) g;
         INSERT INTO deliveries (event_id, sink, job_id, bytes, created_at) SELECT id, 'archive', job_id, 2, received_at FROM events WHERE refs > 0;
         INSERT INTO dead_letters (id, event_id, sink, job_id, type, bytes, attempts, created_at, failed_at)
         SELECT id, event_id, 'archive', job_id, 'crawl.page', 2, 1, created_at, created_at FROM deliveries WHERE id % 2 = 0;
         ANALYZE events; ANALYZE deliveries; ANALYZE dead_letters`,
      );
      // What an event's details and the event lists read: its deliveries and dead letters.
      const byEvent = (table: string): string => `SELECT sink FROM ${table} WHERE event_id = ANY($1::bigint[])`;
      const plans = async (): Promise<string[]> => [
        await plan(client, pruneVictims(false), []),
        await plan(client, pruneVictims(true), [1_700_010_000_000]),
        await plan(client, byEvent('deliveries'), [[100, 101]]),
        await plan(client, byEvent('dead_letters'), [[100, 101]]),
      ];
      const before = await plans();
      expect(before[0]).not.toContain('events_unreferenced');
      expect(before[1]).not.toContain('events_unreferenced');
      expect(before[2]).not.toContain('deliveries_by_event');
      expect(before[3]).not.toContain('dead_letters_by_event');

      await replica();
      expect((await client.query(`SELECT value FROM meta WHERE key = 'schema_version'`)).rows).toEqual([{ value: String(SCHEMA_VERSION) }]);
      const [overBytes, byAge, deliveries, deadLetters] = await plans();
      expect(overBytes).toContain('Index Scan using events_unreferenced on');
      // Either partial index: few unreferenced events here (the one by time serves when history is large).
      expect(byAge).toContain('events_unreferenced');
      expect(deliveries).toContain('deliveries_by_event');
      expect(deadLetters).toContain('dead_letters_by_event');
      // The sequence lease tokens came from before they were random is gone.
      expect((await client.query(`SELECT to_regclass('lease_tokens') AS t`)).rows).toEqual([{ t: null }]);
    }));

  it('parks a removed sink and expires dead letters in chunks: other commits go through between them', async () => {
    fresh();
    const store = await replica();
    const total = 1800;
    for (let i = 0; i < total; i += 300) {
      await Promise.all(Array.from({ length: 300 }, (_, j) => store.enqueue(item(`job-${(i + j) % 40}`, `e${i + j}`, { sinks: ['gone'] }))));
    }
    const locker = new pg.Client({ connectionString: cluster.url });
    const reader = new pg.Client({ connectionString: cluster.url });
    await locker.connect();
    await reader.connect();
    try {
      for (const c of [locker, reader]) await c.query(`SET search_path TO ${schema}`);
      const count = async (table: string): Promise<number> =>
        Number((await reader.query(`SELECT count(*) AS n FROM ${table} WHERE sink = 'gone'`)).rows[0].n);
      /**
       * Runs `work` while another transaction holds the newest matching row: one statement over
       * every row would wait with nothing done; chunks commit the rows before it meanwhile, and an
       * enqueue commits too. Then lets go, and `work` ends.
       */
      const whileNewestLocked = async <T>(table: string, work: () => Promise<T>): Promise<T> => {
        await locker.query('BEGIN');
        await locker.query(`SELECT id FROM ${table} WHERE sink = 'gone' ORDER BY id DESC LIMIT 1 FOR UPDATE`);
        let ended = false;
        const running = work().finally(() => (ended = true));
        await eventually(async () => (await count(table)) <= total - 1000);
        expect(ended).toBe(false);
        expect((await store.enqueue(item('other', 'between chunks'))).eventId).toEqual(expect.any(Number));
        expect(ended).toBe(false);
        await locker.query('ROLLBACK');
        return running;
      };

      const parked = await whileNewestLocked('deliveries', () => store.parkSinksExcept(new Set(['archive']), () => 'removed'));
      expect([...parked]).toEqual([['gone', total]]);
      expect(await count('deliveries')).toBe(0);
      expect(await count('lanes')).toBe(0);
      expect(await count('dead_letters')).toBe(total);

      expect(await whileNewestLocked('dead_letters', () => store.deadLetters.expire(Date.now() + 1000))).toBe(total);
      expect(await count('dead_letters')).toBe(0);
      await eventually(() => store.counters().get('gone')?.deadLetters === 0);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await reader.end();
    }
  }, 60_000);

  it('answers 503-worthy errors while PostgreSQL is down, reports not ready, and recovers by itself', async () => {
    fresh();
    const store = await replica({ refreshMs: 100 });
    expect((await store.enqueue(item('j', 'before'))).eventId).toEqual(expect.any(Number));
    await cluster.stop();
    try {
      await expect(store.enqueue(item('j', 'during'))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
      expect(store.writable()).toMatchObject({ ready: false, error: expect.stringContaining('PostgreSQL is unavailable') });
    } finally {
      await cluster.start();
    }
    await eventually(() => store.writable().ready);
    expect((await store.enqueue(item('j', 'after'))).eventId).toEqual(expect.any(Number));
    const [lane] = await store.claim('archive', ALL);
    expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['before', 'after']);
  });

  it('answers 503-worthy errors instead of hanging while PostgreSQL is frozen, and recovers after', async () => {
    fresh();
    const store = await replica({ refreshMs: 100, queryTimeoutMs: 1_000 });
    expect((await store.enqueue(item('j', 'before'))).eventId).toEqual(expect.any(Number));
    cluster.freeze();
    try {
      // Two groups: the first one stuck must not hold the second one up.
      const stuck = store.enqueue(item('j', 'during-1'));
      await expect(stuck).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
      await expect(store.enqueue(item('j', 'during-2'))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
      expect(store.writable()).toMatchObject({ ready: false, error: expect.stringContaining('PostgreSQL is unavailable') });
    } finally {
      cluster.thaw();
    }
    await eventually(() => store.writable().ready);
    expect((await store.enqueue(item('j', 'after'))).eventId).toEqual(expect.any(Number));
  }, 60_000);

  it('refuses to start with a coded error naming the database when PostgreSQL does not answer', async () => {
    fresh();
    const url = cluster.url.replace(`:${cluster.port}/`, `:${await freePort()}/`);
    await expect(replica({ url, queryTimeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'RELAY_ERR_QUEUE_UNREACHABLE',
      message: expect.stringContaining('the queue database postgres://127.0.0.1:'),
    });
    cluster.freeze();
    try {
      await expect(replica({ queryTimeoutMs: 1_000 })).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNREACHABLE' });
    } finally {
      cluster.thaw();
    }
  });

  it('fences a settle from before a crash of PostgreSQL when the lane is claimed again after it', async () => {
    fresh();
    const a = await replica({ leaseMs: 10_000 });
    await a.enqueue(item('j', 'e1'));
    const [stale] = await a.claim('archive', ALL);
    await a.close();
    await cluster.crash();
    await cluster.start();
    // What the crash leaves when the claim's commit (synchronous_commit off) had not reached
    // the WAL: the lane unclaimed (tokens are random, so the next claim's is another).
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      await client.query(`UPDATE ${schema}.lanes SET owner = NULL, token = NULL, ready_at = 0`);
    } finally {
      await client.end();
    }
    const b = await replica({ leaseMs: 10_000 });
    const [taken] = await b.claim('archive', ALL);
    expect(taken!.token).not.toBe(stale!.token);
    // A's late settle (a retry: it would release the lane at once) must leave B's lease alone.
    const late = await replica();
    await late.settle([{ lane: stale!, delivered: [], failure: { id: stale!.deliveries[0]!.id, error: 'late', retryAt: 0, countAttempt: true } }]);
    expect(await late.claim('archive', ALL)).toEqual([]);
  }, 60_000);

  it('commits a group of 8,200 events from one tick (more than one statement`s 65,535 parameters)', async () => {
    fresh();
    const store = await replica();
    const results = await Promise.all(Array.from({ length: 8_200 }, (_, i) => store.enqueue(item(`job-${i % 30}`, `e${i}`))));
    expect(store.commits).toBe(1);
    expect(new Set(results.map((r) => r.eventId)).size).toBe(8_200);
    const lanes = await store.claim('archive', { lanes: 30, events: 10_000, bytes: 1 << 30 });
    expect(lanes.flatMap((l) => l.deliveries)).toHaveLength(8_200);
  }, 60_000);

  it('fails only the event PostgreSQL refuses (a NUL in its job id), not the others of its group', async () => {
    fresh();
    const store = await replica();
    const settled = await Promise.allSettled([
      store.enqueue(item('j', 'first')),
      store.enqueue(item('bad\u0000job', 'nul')),
      store.enqueue(item('j', 'last')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled[1]).toMatchObject({ reason: { code: 'RELAY_ERR_QUEUE_UNAVAILABLE' } });
    expect(store.writable().ready).toBe(true);
    const [lane] = await store.claim('archive', ALL);
    expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['first', 'last']);
  });

  it('tells a replica whose lane was taken over that it lost the lease, at its next renewal', async () => {
    fresh();
    const start = Date.now();
    // a's clock stands still (its renewals keep moving the expiry to start + 900); b lives 10 s later.
    const a = await replica({ leaseMs: 900, now: () => start });
    const b = await replica({ leaseMs: 900, now: () => start + 10_000 });
    await a.enqueue(item('j', 'e1'));
    await a.enqueue(item('j', 'e2'));
    const [mine] = await a.claim('archive', ALL);
    expect(a.leaseLost(mine!)).toBe(false);
    const [taken] = await b.claim('archive', ALL);
    expect(taken!.jobId).toBe('j');
    await eventually(() => a.leaseLost(mine!));
    expect(b.leaseLost(taken!)).toBe(false);
  });

  it('sends NOTIFY after COMMIT: a wake-up PostgreSQL refuses does not undo the events it announced', async () => {
    fresh();
    const store = await replica();
    // More than NOTIFY's 8,000-byte payload: pg_notify fails, as it would inside the transaction.
    const sinks = Array.from({ length: 90 }, (_, i) => `sink-${String(i).padStart(3, '0')}-${'x'.repeat(90)}`);
    expect((await store.enqueue(item('j', 'e1', { sinks }))).eventId).toEqual(expect.any(Number));
    expect(await store.claim(sinks[0]!, ALL)).toHaveLength(1);
  });
});
