/**
 * The queue store's commit path alone, in this process (no HTTP, no load generator), for
 * one or more builds in alternation: groups of `group` signed-page-sized events (one job)
 * enqueued in one commit, then claimed and settled as the file sink's runner does (batches
 * of 100). Prints process CPU per event for each phase, median and spread over the rounds.
 * Less noisy than bench:ingress on a shared machine; it leaves out HTTP and the sinks.
 *
 * With `settle=event`, each delivery is settled on its own as a per-event sink's lane does
 * (a held settle per event, then the lane's release); `settle=lane` (default) settles each
 * claimed lane once, as a batch sink does. `history=on` keeps delivered events and their
 * attempts (the relay's default, 24 h); off by default here.
 *
 *   npx tsx bench/store-ab.ts <dist folder>[,<another>…] [rounds=5] [events=20000] [group=54] [settle=lane|event] [history=off|on]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { QueueStore } from '../src/queue/store.js';
import { crawlPage, median, printResult } from './lib.js';

const builds = (process.argv[2] ?? '').split(',').filter(Boolean).map((path) => resolve(path));
const rounds = Number(process.argv[3] ?? 5);
const events = Number(process.argv[4] ?? 20_000);
const group = Number(process.argv[5] ?? 54);
const perEvent = process.argv[6] === 'event';
const history = process.argv[7] === 'on' ? { retentionMs: 86_400_000, maxBytes: 256 << 20 } : undefined;
if (builds.length === 0) throw new Error('usage: bench/store-ab.ts <dist folder>[,<another>…] [rounds] [events] [group]');
const body = Buffer.from(crawlPage('bench-job', 1).body);

type Open = (options: { dir: string; maxBytes: number; dedupeWindowSeconds: number; history?: typeof history }) => QueueStore;
const cpu = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function measure(open: Open): Promise<{ enqueue: number; claimSettle: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-store-'));
  const store = open({ dir, maxBytes: 2 ** 34, dedupeWindowSeconds: 60, history });
  let enqueue = 0;
  let claimSettle = 0;
  try {
    for (let done = 0; done < events; done += group) {
      let start = cpu();
      const item = { source: 'firecrawl', type: 'crawl.page', jobId: 'bench-job', dedupeKey: null, body, sinks: ['discard'] };
      await Promise.all(Array.from({ length: group }, () => store.enqueue(item)));
      enqueue += cpu() - start;
      start = cpu();
      for (;;) {
        const lanes = await store.claim('discard', { lanes: 100, events: 100, bytes: 16 << 20 });
        if (lanes.length === 0) break;
        if (perEvent) {
          for (const lane of lanes) {
            for (const d of lane.deliveries) {
              const attempt = { deliveryId: d.id, eventId: d.eventId, at: Date.now(), durationMs: 0, outcome: 'delivered' as const, statusCode: null, error: null };
              await store.settle([{ lane, delivered: [d.id], attempts: [attempt], hold: true }]);
            }
          }
          await store.settle(lanes.map((lane) => ({ lane, delivered: [] })));
        } else {
          // The attempts a batch write records: one per event, sharing the write's time.
          const at = Date.now();
          const attempts = (lane: (typeof lanes)[number]) =>
            lane.deliveries.map((d) => ({ deliveryId: d.id, eventId: d.eventId, at, durationMs: 0, outcome: 'delivered' as const, statusCode: null, error: null }));
          await store.settle(lanes.map((lane) => ({ lane, delivered: lane.deliveries.map((d) => d.id), attempts: attempts(lane) })));
        }
      }
      claimSettle += cpu() - start;
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { enqueue: enqueue / events, claimSettle: claimSettle / events };
}

const opens = new Map<string, Open>();
for (const build of builds) {
  opens.set(build, (await import(pathToFileURL(join(build, 'queue/sqlite/store.js')).href)).openSqliteStore as Open);
}
const runs = new Map<string, Array<{ enqueue: number; claimSettle: number }>>(builds.map((b) => [b, []]));
await measure(opens.get(builds[0]!)!); // warm-up: JIT and page cache
for (let round = 1; round <= rounds; round++) {
  for (const build of builds) runs.get(build)!.push(await measure(opens.get(build)!));
}
const span = (values: number[]): string => `${median(values).toFixed(1)} (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;
for (const [build, list] of runs) {
  printResult('store A/B', {
    build,
    rounds,
    'events per commit': group,
    settle: perEvent ? 'each event' : 'each lane',
    history: history ? 'on' : 'off',
    'enqueue CPU µs/event median (min–max)': span(list.map((r) => r.enqueue)),
    'claim+settle CPU µs/event median (min–max)': span(list.map((r) => r.claimSettle)),
    'total median': median(list.map((r) => r.enqueue + r.claimSettle)).toFixed(1),
    'load avg 1 min': loadavg()[0]!.toFixed(1),
  });
}
