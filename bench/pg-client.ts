/**
 * Which PostgreSQL client for the queue's ingress path: `pg` (node-postgres) or `postgres`
 * (porsager), measured on the same work in the same run. Each request hands a 5 KB event to
 * a group-commit batcher; the requests of one event-loop turn share one transaction with
 * multi-row inserts (events, deliveries, lane upserts, sharded counters), as the store does.
 * Prints events/s and CPU µs per event of this process and of PostgreSQL, per client.
 *
 *   npx tsx bench/pg-client.ts [events=20000] [concurrency=64] [rounds=2]
 */
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres } from '../test/helpers/postgres.js';
import { crawlPage, printResult } from './lib.js';

const [events = 20_000, concurrency = 64, rounds = 2] = process.argv.slice(2).map(Number);

const DDL = `
DROP TABLE IF EXISTS events, deliveries, lanes, counters;
CREATE TABLE events (id bigserial PRIMARY KEY, received_at bigint NOT NULL, source text NOT NULL, type text NOT NULL,
  job_id text NOT NULL, bytes int NOT NULL, refs int NOT NULL, body bytea NOT NULL);
CREATE TABLE deliveries (id bigserial PRIMARY KEY, event_id bigint NOT NULL, sink text NOT NULL, job_id text NOT NULL,
  bytes int NOT NULL, created_at bigint NOT NULL);
CREATE INDEX ON deliveries (sink, job_id, id);
CREATE TABLE lanes (sink text, job_id text, pending int NOT NULL, PRIMARY KEY (sink, job_id));
CREATE TABLE counters (sink text, shard int, pending bigint NOT NULL, pending_bytes bigint NOT NULL, PRIMARY KEY (sink, shard));
`;

interface Item {
  job: string;
  body: Buffer;
}

/** The same statements for both clients; `run(sql, params)` returns rows. */
type Run = (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>;

async function commitBatch(run: Run, batch: readonly Item[]): Promise<void> {
  const now = Date.now();
  const ids = (await run(`SELECT nextval('events_id_seq') AS id FROM generate_series(1, $1::int)`, [batch.length])).map((r) => String(r.id));
  const ev: unknown[] = [];
  const evValues = batch.map((item, i) => {
    ev.push(ids[i], now, 'firecrawl', 'crawl.page', item.job, item.body.length, 1, item.body);
    const b = i * 8;
    return `($${b + 1}::bigint,$${b + 2}::bigint,$${b + 3},$${b + 4},$${b + 5},$${b + 6}::int,$${b + 7}::int,$${b + 8}::bytea)`;
  });
  await run(`INSERT INTO events (id, received_at, source, type, job_id, bytes, refs, body) VALUES ${evValues.join(',')}`, ev);
  const dv: unknown[] = [];
  const dvValues = batch.map((item, i) => {
    dv.push(ids[i], 'archive', item.job, item.body.length, now);
    const b = i * 5;
    return `($${b + 1}::bigint,$${b + 2},$${b + 3},$${b + 4}::int,$${b + 5}::bigint)`;
  });
  await run(`INSERT INTO deliveries (event_id, sink, job_id, bytes, created_at) VALUES ${dvValues.join(',')}`, dv);
  const perJob = new Map<string, number>();
  for (const item of batch) perJob.set(item.job, (perJob.get(item.job) ?? 0) + 1);
  const jobs = [...perJob.keys()].sort();
  await run(
    `INSERT INTO lanes (sink, job_id, pending) SELECT 'archive', j, n FROM unnest($1::text[], $2::int[]) AS u(j, n)
     ON CONFLICT (sink, job_id) DO UPDATE SET pending = lanes.pending + excluded.pending`,
    [jobs, jobs.map((j) => perJob.get(j)!)],
  );
  const bytes = batch.reduce((sum, item) => sum + item.body.length, 0);
  await run(
    `INSERT INTO counters (sink, shard, pending, pending_bytes) VALUES ('archive', $1::int, $2::bigint, $3::bigint)
     ON CONFLICT (sink, shard) DO UPDATE SET pending = counters.pending + excluded.pending, pending_bytes = counters.pending_bytes + excluded.pending_bytes`,
    [Math.floor(Math.random() * 16), batch.length, bytes],
  );
}

/** Group commit: enqueue() calls of one loop turn go in one transaction. */
function batcher(transaction: (batch: Item[]) => Promise<void>): (item: Item) => Promise<void> {
  let pending: Array<{ item: Item; done: (err?: unknown) => void }> = [];
  let running = false;
  const flush = async (): Promise<void> => {
    running = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await transaction(batch.map((w) => w.item));
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.done(err);
      }
    }
    running = false;
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ item, done: (err) => (err ? reject(err) : resolve()) });
      if (!running) setImmediate(() => void (running ? undefined : flush()));
    });
}

async function measure(name: string, enqueue: (item: Item) => Promise<void>, serverCpu: () => number): Promise<Record<string, number>> {
  const items = Array.from({ length: 200 }, (_, i) => ({ job: `job-${i % 30}`, body: Buffer.from(crawlPage(`job-${i % 30}`, i).body) }));
  const cpu0 = process.cpuUsage();
  const server0 = serverCpu();
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events) await enqueue(items[next++ % items.length]!);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const server = serverCpu() - server0;
  return {
    [`${name}_events_per_s`]: Math.round(events / seconds),
    [`${name}_client_cpu_us_per_event`]: Math.round((cpu.user + cpu.system) / events),
    [`${name}_postgres_cpu_us_per_event`]: Math.round(server / events),
  };
}

const cluster = await startPostgres();
try {
  const nodePg = new pg.Pool({ connectionString: cluster.url, max: 2 });
  const porsager = postgres(cluster.url, { max: 2, onnotice: () => undefined });
  await nodePg.query(DDL);
  const withPg = batcher(async (batch) => {
    const client = await nodePg.connect();
    try {
      await client.query('BEGIN');
      await commitBatch(async (sql, params) => (await client.query(sql, params)).rows, batch);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  });
  const withPostgres = batcher(async (batch) => {
    await porsager.begin((tx) => commitBatch((sql, params) => tx.unsafe(sql, params as never[]), batch));
  });
  const results: Record<string, number> = {};
  // Alternate the clients so that neither gets a warmer server or a quieter machine.
  for (let round = 1; round <= rounds; round++) {
    for (const [name, enqueue] of [['pg', withPg], ['postgres', withPostgres]] as const) {
      const r = await measure(name, enqueue, () => cluster.cpuMicros());
      for (const [k, v] of Object.entries(r)) results[`${k}_r${round}`] = v;
    }
  }
  printResult(`pg-client (${events} events of 5 KB, ${concurrency} concurrent, group commit)`, results);
  await nodePg.end();
  await porsager.end();
} finally {
  await cluster.destroy();
}
