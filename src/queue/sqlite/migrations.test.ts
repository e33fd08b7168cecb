import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from './store.js';
import { SCHEMA_VERSION } from './migrations.js';
import { listQuery, PRUNE_QUERIES } from './history.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';

// test/fixtures/queue-v1/relay.db was written by release 120b885 (make.mjs beside it), at
// clock 1_700_000_009_000: jobs A (4 pages → hook, file), B (3 → hook), C (2 → file).
// hook: A1 failed once (job A blocked until +60 s, A2–A4 held back), B1 delivered, B2 dead, B3 pending.
// file: A1, A2 delivered, C1 dead, A3 A4 C2 pending.
const FIXTURE = join(import.meta.dirname, '../../../test/fixtures/queue-v1/relay.db');
const WRITTEN_AT = 1_700_000_009_000;

let dir: string;
let cleanup: () => void;
let clock: number;
let store: SqliteStore;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  copyFileSync(FIXTURE, join(dir, 'relay.db'));
  clock = WRITTEN_AT;
  store = openSqliteStore({ dir, maxBytes: 1 << 30, dedupeWindowSeconds: 86_400, now: () => clock });
});

afterEach(async () => {
  await store.close();
  cleanup();
});

const page = (body: Buffer): string => {
  const p = JSON.parse(body.toString()) as { id: string; metadata: { n: number } };
  return `${p.id}${p.metadata.n}`;
};

/** Claims and delivers everything due on `sink`, lane by lane, returning what was handed out. */
async function drain(sink: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const lanes = await store.claim(sink, { lanes: 10, events: 100, bytes: 1 << 30 });
    if (lanes.length === 0) return seen;
    for (const lane of lanes) seen.push(...lane.deliveries.map((d) => page(d.body)));
    await store.settle(lanes.map((lane) => ({ lane, delivered: lane.deliveries.map((d) => d.id) })));
  }
}

it('upgrades a queue written by release 0.1 and keeps every delivery, attempt, block and dead letter', async () => {
  expect(store.upgradedFrom).toBe(1);
  expect((store.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value).toBe(
    String(SCHEMA_VERSION),
  );
  expect(Object.fromEntries([...store.counters()].map(([sink, c]) => [sink, [c.pending, c.deadLetters]]))).toEqual({
    hook: [5, 1],
    file: [3, 1],
  });
  expect((await store.deadLetters.list()).map((d) => [d.sink, d.jobId, d.lastError])).toEqual([
    ['file', 'C', 'EACCES'],
    ['hook', 'B', 'HTTP 400: rejected'],
  ]);
  expect(page((await store.deadLetters.get(6))!.body)).toBe('C1');
  // Job A on hook is still blocked for 60 s; B3 is not held behind it.
  expect(await drain('hook')).toEqual(['B3']);
  expect(await store.nextDueAt('hook')).toBe(WRITTEN_AT + 60_000);
  expect(await drain('file')).toEqual(['A3', 'A4', 'C2']);
});

it('drains the upgraded queue in per-job order once the block ends, the failed page first with its attempt', async () => {
  clock += 60_000;
  const lanes = await store.claim('hook', { lanes: 10, events: 100, bytes: 1 << 30 });
  // B's head came before A's retry time: its lane is first.
  expect(lanes.map((l) => l.jobId)).toEqual(['B', 'A']);
  const lane = lanes[1];
  expect(lane!.deliveries.map((d) => [page(d.body), d.attempts])).toEqual([
    ['A1', 1],
    ['A2', 0],
    ['A3', 0],
    ['A4', 0],
  ]);
  await store.settle(lanes.map((l) => ({ lane: l, delivered: l.deliveries.map((d) => d.id) })));
  expect(await drain('hook')).toEqual([]);
  expect(await store.deadLetters.replay({})).toBe(2);
  expect(await drain('hook')).toEqual(['B2']);
  // C1 goes back ahead of C2 in its lane: per-job order holds.
  expect(await drain('file')).toEqual(['A3', 'A4', 'C1', 'C2']);
  expect([...store.counters().values()].map((c) => c.pending + c.deadLetters)).toEqual([0, 0]);
  // Nothing left behind: every event went once all its sinks had it.
  expect(store.db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(0);
});

it('lets several processes open one new queue at once, each step running once', async () => {
  const { execFile } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const storeModule = fileURLToPath(new URL('./store.ts', import.meta.url));
  const fresh = tempDir();
  const script = `import { openSqliteStore } from ${JSON.stringify(storeModule)};
    const store = openSqliteStore({ dir: ${JSON.stringify(fresh.dir)}, maxBytes: 1e9, dedupeWindowSeconds: 60 });
    await store.close();`;
  const open = () =>
    new Promise<string | null>((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (error, _out, stderr) =>
        resolve(error ? stderr : null),
      ),
    );
  expect(await Promise.all(Array.from({ length: 6 }, open))).toEqual(Array(6).fill(null));
  const opened = openSqliteStore({ dir: fresh.dir, maxBytes: 1e9, dedupeWindowSeconds: 60 });
  expect(opened.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
  await opened.close();
  fresh.cleanup();
}, 60_000);

it('upgrades a queue at schema 3 (history, no time index, no url) to events_by_time and a url column, which the by-age prune and time-filtered lists read', async () => {
  const previous = tempDir();
  // A schema-3 queue: what the previous release wrote (step 4 only adds the index).
  const v3 = openSqliteStore({ dir: previous.dir, maxBytes: 1e9, dedupeWindowSeconds: 60 });
  v3.db.exec(`DROP INDEX events_by_time; UPDATE meta SET value = '3' WHERE key = 'schema_version'`);
  const insert = v3.db.prepare(`INSERT INTO events (received_at, source, type, job_id, body) VALUES (?, 'firecrawl', 'crawl.page', ?, x'7b7d')`);
  v3.db.transaction(() => {
    for (let i = 0; i < 5000; i++) insert.run(1_700_000_000_000 + i * 1000, `job-${i % 50}`);
  })();
  const plan = (store: SqliteStore, sql: string, params: unknown[]): string =>
    (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
  const window = listQuery({ since: 1_700_000_100_000, until: 1_700_000_200_000 });
  expect(plan(v3, window.sql, window.params)).not.toContain('events_by_time');
  // Schema 3 had no url column either (step 5 adds it).
  v3.db.exec('ALTER TABLE events DROP COLUMN url');
  await v3.close();

  const upgraded = openSqliteStore({ dir: previous.dir, maxBytes: 1e9, dedupeWindowSeconds: 60 });
  try {
    expect(upgraded.upgradedFrom).toBe(3);
    expect(upgraded.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe(String(SCHEMA_VERSION));
    expect(plan(upgraded, window.sql, window.params)).toMatch(/USING (COVERING )?INDEX events_by_time/);
    expect(plan(upgraded, PRUNE_QUERIES.byAge, [0, 1_700_000_100_000, 500])).toMatch(/USING (COVERING )?INDEX events_by_time/);
    expect(upgraded.storedEvents()).toBe(5000);
    expect(upgraded.db.prepare(`SELECT count(*) FROM events WHERE url IS NULL`).pluck().get()).toBe(5000);
  } finally {
    await upgraded.close();
    previous.cleanup();
  }
});
