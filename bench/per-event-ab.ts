/**
 * The main thread's cost of delivering and settling events through a per-event sink
 * (`deliver`) that does nothing, for one or more builds in alternation: `events` page-sized
 * events over `jobs` jobs queued first, then run by the build's own SinkRunner
 * (max_in_flight 8, history on as the relay's default) until none is pending. Each event is
 * settled as it is delivered (held settles). Prints process CPU per event, median and spread.
 *
 *   npx tsx bench/per-event-ab.ts <dist folder>[,<another>…] [rounds=5] [events=5000] [jobs=16]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { SinkRunner as Runner } from '../src/delivery/sink-runner.js';
import type { RelayMetrics as Metrics } from '../src/metrics.js';
import type { QueueStore } from '../src/queue/store.js';
import { crawlPage, median, printResult } from './lib.js';

const builds = (process.argv[2] ?? '').split(',').filter(Boolean).map((path) => resolve(path));
const rounds = Number(process.argv[3] ?? 5);
const events = Number(process.argv[4] ?? 5000);
const jobs = Number(process.argv[5] ?? 16);
if (builds.length === 0) throw new Error('usage: bench/per-event-ab.ts <dist folder>[,<another>…] [rounds] [events] [jobs]');
const body = Buffer.from(crawlPage('bench-job', 1).body);

interface Build {
  open: (options: { dir: string; maxBytes: number; dedupeWindowSeconds: number; history: { retentionMs: number; maxBytes: number } }) => QueueStore;
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

async function measure(build: Build): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-per-event-'));
  const store = build.open({ dir, maxBytes: 2 ** 34, dedupeWindowSeconds: 60, history: { retentionMs: 86_400_000, maxBytes: 256 << 20 } });
  const runner = new build.SinkRunner({ config, sink: { deliver: async () => {} }, store, logger: pino({ level: 'silent' }), metrics: new build.RelayMetrics() });
  try {
    for (let done = 0; done < events; done += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId: `job-${(done + i) % jobs}`, dedupeKey: null, body, sinks: ['discard'] })));
    }
    const start = cpu();
    runner.start();
    while ((store.counters().get('discard')?.pending ?? 0) > 0) await new Promise((r) => setTimeout(r, 5));
    return (cpu() - start) / events;
  } finally {
    await runner.stop(1000);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const loaded = new Map<string, Build>();
for (const build of builds) {
  const load = async (path: string) => import(pathToFileURL(join(build, path)).href);
  loaded.set(build, { open: (await load('queue/sqlite/store.js')).openSqliteStore, SinkRunner: (await load('delivery/sink-runner.js')).SinkRunner, RelayMetrics: (await load('metrics.js')).RelayMetrics });
}
const runs = new Map<string, number[]>(builds.map((b) => [b, []]));
await measure(loaded.get(builds[0]!)!); // warm-up: JIT and page cache
for (let round = 1; round <= rounds; round++) {
  for (const build of builds) runs.get(build)!.push(await measure(loaded.get(build)!));
}
for (const [build, list] of runs) {
  printResult('per-event delivery A/B', {
    build,
    rounds,
    jobs,
    'deliver → settle CPU µs/event median (min–max)': `${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)}–${Math.max(...list).toFixed(1)})`,
    'load avg 1 min': loadavg()[0]!.toFixed(1),
  });
}
