/**
 * The main thread's cost of delivering and settling events, in this process (no HTTP), for
 * one or more builds in alternation, with the build's own delivery code and a sink that
 * does nothing; history on, as the relay's default. Prints process CPU per event, median
 * and spread over the rounds.
 *
 * - `sink=batch` (default): a batch-native sink (`write`), as the file and Kafka sinks.
 *   Groups of `group` page-sized events of one job are enqueued, their payloads put in the
 *   payload cache as the ingress leaves them, then claimed, turned into events, written and
 *   settled by the build's batch runner (batches of 100) before the next group.
 * - `sink=event`: a per-event sink (`deliver`), as webhook, Slack, S3 and most plugins.
 *   `events` over 16 jobs are queued first, then the build's SinkRunner (max_in_flight 8)
 *   runs until none is pending, each event settled as it is delivered (held settles).
 *
 *   npx tsx bench/delivery-ab.ts <dist folder>[,<another>…] [rounds=5] [events=20000] [group=54] [sink=batch|event]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { writeBatch as WriteBatch } from '../src/delivery/batch-runner.js';
import type { PayloadCache as Cache } from '../src/delivery/payload-cache.js';
import type { SinkRunner as Runner } from '../src/delivery/sink-runner.js';
import type { RelayMetrics as Metrics } from '../src/metrics.js';
import type { QueueStore } from '../src/queue/store.js';
import { crawlPage, median, printResult } from './lib.js';

const builds = (process.argv[2] ?? '').split(',').filter(Boolean).map((path) => resolve(path));
const rounds = Number(process.argv[3] ?? 5);
const events = Number(process.argv[4] ?? 20_000);
const group = Number(process.argv[5] ?? 54);
const perEvent = process.argv[6] === 'event';
if (builds.length === 0) throw new Error('usage: bench/delivery-ab.ts <dist folder>[,<another>…] [rounds] [events] [group] [sink=batch|event]');
const text = crawlPage('bench-job', 1).body;
const body = Buffer.from(text);
const JOBS = 16;

interface Build {
  open: (options: { dir: string; maxBytes: number; dedupeWindowSeconds: number; history: { retentionMs: number; maxBytes: number } }) => QueueStore;
  writeBatch: typeof WriteBatch;
  PayloadCache: new () => Cache;
  SinkRunner: typeof Runner;
  RelayMetrics: typeof Metrics;
}
const cpu = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const config = {
  name: 'discard', type: 'bench', retry: { initial_delay_ms: 1000, max_delay_ms: 60_000, multiplier: 2, jitter: 0, max_attempts: 10, max_age_seconds: 86_400 },
  batch_max_events: 100, batch_max_bytes: 16 << 20, batch_linger_ms: 0, write_timeout_ms: 30_000, max_in_flight: 8, rate_limit: null,
  max_pending_bytes: 2 ** 34, when_full: 'dead_letter' as const, options: {},
};
const enqueue = (store: QueueStore, jobId: string) => store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: null, body, sinks: ['discard'] });

/** Batch-native: claim, write and settle after each group commit; CPU of that phase only. */
async function batches(build: Build, store: QueueStore): Promise<number> {
  const payloads = new build.PayloadCache();
  const removed = store.onEventsRemoved?.((ids) => ids.forEach((id) => payloads.delete(id)));
  const never = new AbortController().signal;
  const context = {
    config, metrics: { deliveryDuration: { startTimer: () => () => 0 } }, limiter: null, payloads, shutdown: never, stopping: never,
    paused: () => false, overran: () => {}, abortIgnored: () => {}, now: Date.now, random: Math.random,
  } as unknown as Parameters<typeof WriteBatch>[2];
  const sink = { write: async () => {} };
  let spent = 0;
  for (let done = 0; done < events; done += group) {
    const ids = await Promise.all(Array.from({ length: group }, () => enqueue(store, 'bench-job')));
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
  removed?.();
  return spent;
}

/** Per-event: the runner delivers a queued backlog; CPU until none is pending. */
async function lanes(build: Build, store: QueueStore): Promise<number> {
  for (let done = 0; done < events; done += group) {
    await Promise.all(Array.from({ length: group }, (_, i) => enqueue(store, `job-${(done + i) % JOBS}`)));
  }
  const runner = new build.SinkRunner({ config, sink: { deliver: async () => {} }, store, logger: pino({ level: 'silent' }), metrics: new build.RelayMetrics() });
  const start = cpu();
  runner.start();
  while ((store.counters().get('discard')?.pending ?? 0) > 0) await new Promise((r) => setTimeout(r, 5));
  const spent = cpu() - start;
  await runner.stop(1000);
  return spent;
}

async function measure(build: Build): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-delivery-'));
  const store = build.open({ dir, maxBytes: 2 ** 34, dedupeWindowSeconds: 60, history: { retentionMs: 86_400_000, maxBytes: 256 << 20 } });
  try {
    return (await (perEvent ? lanes : batches)(build, store)) / events;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const loaded = new Map<string, Build>();
for (const build of builds) {
  const load = async (path: string) => import(pathToFileURL(join(build, path)).href);
  loaded.set(build, {
    open: (await load('queue/sqlite/store.js')).openSqliteStore,
    writeBatch: (await load('delivery/batch-runner.js')).writeBatch,
    PayloadCache: (await load('delivery/payload-cache.js')).PayloadCache,
    SinkRunner: (await load('delivery/sink-runner.js')).SinkRunner,
    RelayMetrics: (await load('metrics.js')).RelayMetrics,
  });
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
    sink: perEvent ? `per-event, ${JOBS} jobs, max_in_flight 8` : 'batch-native, one job',
    'events per commit': group,
    'claim → settle CPU µs/event median (min–max)': `${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)}–${Math.max(...list).toFixed(1)})`,
    'load avg 1 min': loadavg()[0]!.toFixed(1),
  });
}
