/**
 * The main thread's cost of delivering and settling events to a batch-native sink that
 * writes nothing, in this process (no HTTP), for one or more builds in alternation: groups
 * of `group` page-sized events (one job) enqueued, their payloads in the payload cache as
 * the ingress leaves them, then claimed, turned into events, written and settled by the
 * build's own batch runner (batches of 100), history on as the relay's default. Prints
 * process CPU per event of the delivery phase (claim to settle), median and spread.
 *
 *   npx tsx bench/delivery-ab.ts <dist folder>[,<another>…] [rounds=5] [events=20000] [group=54]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { writeBatch as WriteBatch } from '../src/delivery/batch-runner.js';
import type { PayloadCache as Cache } from '../src/delivery/payload-cache.js';
import type { QueueStore } from '../src/queue/store.js';
import { crawlPage, median, printResult } from './lib.js';

const builds = (process.argv[2] ?? '').split(',').filter(Boolean).map((path) => resolve(path));
const rounds = Number(process.argv[3] ?? 5);
const events = Number(process.argv[4] ?? 20_000);
const group = Number(process.argv[5] ?? 54);
if (builds.length === 0) throw new Error('usage: bench/delivery-ab.ts <dist folder>[,<another>…] [rounds] [events] [group]');
const text = crawlPage('bench-job', 1).body;
const body = Buffer.from(text);

interface Build {
  open: (options: { dir: string; maxBytes: number; dedupeWindowSeconds: number; history: { retentionMs: number; maxBytes: number } }) => QueueStore;
  writeBatch: typeof WriteBatch;
  PayloadCache: new () => Cache;
}
const cpu = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const config = { name: 'discard', write_timeout_ms: 30_000, retry: { max_attempts: 10, max_age_seconds: 86_400, initial_delay_ms: 1000, max_delay_ms: 60_000 } };
const timer = { startTimer: () => () => 0 };

async function measure(build: Build): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-delivery-'));
  const store = build.open({ dir, maxBytes: 2 ** 34, dedupeWindowSeconds: 60, history: { retentionMs: 86_400_000, maxBytes: 256 << 20 } });
  const payloads = new PayloadCache();
  const removed = store.onEventsRemoved?.((ids) => ids.forEach((id) => payloads.delete(id)));
  const never = new AbortController().signal;
  const context = {
    config, metrics: { deliveryDuration: timer }, limiter: null, payloads, shutdown: never, stopping: never,
    paused: () => false, overran: () => {}, abortIgnored: () => {}, now: Date.now, random: Math.random,
  } as unknown as Parameters<typeof WriteBatch>[2];
  const sink = { write: async () => {} };
  let spent = 0;
  try {
    for (let done = 0; done < events; done += group) {
      const item = { source: 'firecrawl', type: 'crawl.page', jobId: 'bench-job', dedupeKey: null, body, sinks: ['discard'] };
      const ids = await Promise.all(Array.from({ length: group }, () => store.enqueue(item)));
      // What the ingress leaves: each payload parsed once, in the cache by event id.
      for (const { eventId } of ids) payloads.set(eventId!, JSON.parse(text), body.length);
      const start = cpu();
      for (;;) {
        const lanes = await store.claim('discard', { lanes: 100, events: 100, bytes: 16 << 20 });
        if (lanes.length === 0) break;
        const { results } = await build.writeBatch(lanes, sink, context);
        await store.settle(results.map((r) => r.settlement));
      }
      spent += cpu() - start;
    }
  } finally {
    removed?.();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return spent / events;
}

let PayloadCache: Build['PayloadCache'];
const loaded = new Map<string, Build>();
for (const build of builds) {
  const load = async (path: string) => import(pathToFileURL(join(build, path)).href);
  const cache = (await load('delivery/payload-cache.js')).PayloadCache as Build['PayloadCache'];
  PayloadCache ??= cache;
  loaded.set(build, { open: (await load('queue/sqlite/store.js')).openSqliteStore, writeBatch: (await load('delivery/batch-runner.js')).writeBatch, PayloadCache: cache });
}
const runs = new Map<string, number[]>(builds.map((b) => [b, []]));
await measure(loaded.get(builds[0]!)!); // warm-up: JIT and page cache
for (let round = 1; round <= rounds; round++) {
  for (const build of builds) runs.get(build)!.push(await measure(loaded.get(build)!));
}
for (const [build, list] of runs) {
  printResult('delivery A/B', {
    build,
    rounds,
    'events per commit': group,
    'claim → settle CPU µs/event median (min–max)': `${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)}–${Math.max(...list).toFixed(1)})`,
    'load avg 1 min': loadavg()[0]!.toFixed(1),
  });
}
