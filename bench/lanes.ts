/**
 * Lanes: one crawl whose first page failed (its lane in backoff for an hour) with 0, 100k
 * and 1M pages waiting behind it. For each backlog it prints
 *   - the batch read (claim of 100 events of other jobs' lanes) p50/p99, on the store;
 *   - the ack p50/p99 of other jobs' webhooks through a running relay on that queue;
 *   - beside them, release 0.1's Queue.nextBatch on the same backlog (its code taken from
 *     git at 120b885), and its enqueue commit p50/p99 while a dispatcher re-reads per commit.
 * The figures should stay flat for the lanes store, and grow with the backlog for 0.1.
 *
 *   npm run bench:lanes -- [backlogs=0,100000,1000000] [seconds=5] [connections=16]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { kill, startRelayProcess } from '../test/helpers/process.js';
import { openSqliteStore } from '../src/queue/sqlite/store.js';
import type { EnqueueItem } from '../src/queue/store.js';
import { crawlPage, percentile, postPage, printResult, writeBenchConfig } from './lib.js';

const backlogs = (process.argv[2] ?? '0,100000,1000000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 5);
const connections = Number(process.argv[4] ?? 16);
const SINK = 'archive';
const STUCK = 'crawl-stuck';
const HOUR = 3_600_000;
const READS = { lanes: 100, events: 100, bytes: 16 << 20 };

/** A small crawl.page: the backlog's cost is in rows, not bytes (1M pages stay ~0.5 GB). */
const page = (jobId: string, seq: number): EnqueueItem => ({
  source: 'firecrawl',
  type: 'crawl.page',
  jobId,
  dedupeKey: null,
  body: Buffer.from(crawlPage(jobId, seq, 200).body),
  sinks: [SINK],
});

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function inChunks(total: number, chunk: number, put: (seq: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < total; i += chunk) await Promise.all(range(Math.min(chunk, total - i)).map((n) => put(i + n)));
}

const stats = (ms: number[]): { p50: number; p99: number } => {
  const sorted = [...ms].sort((a, b) => a - b);
  const round = (x: number): number => Number(x.toFixed(3));
  return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)) };
};

const timed = <T>(fn: () => T): [T, number] => {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return [value, Number(process.hrtime.bigint() - t0) / 1e6];
};

/** The stuck crawl in backoff with `backlog` pages behind it, in the lanes store at `dir`. */
async function fillLanes(dir: string, backlog: number): Promise<void> {
  const store = openSqliteStore({ dir, maxBytes: 2 ** 36, dedupeWindowSeconds: 0 });
  await store.enqueue(page(STUCK, 0));
  const [lane] = await store.claim(SINK, READS);
  await store.settle([{ lane: lane!, delivered: [], failure: { id: lane!.deliveries[0]!.id, error: 'HTTP 503', retryAt: Date.now() + HOUR, countAttempt: true } }]);
  await inChunks(backlog, 20_000, (seq) => store.enqueue(page(STUCK, seq + 1)));
  await store.close();
}

/** Claim time of other jobs' lanes on the lanes store (2,000 events of 200 jobs). */
async function lanesReads(dir: string): Promise<number[]> {
  const store = openSqliteStore({ dir, maxBytes: 2 ** 36, dedupeWindowSeconds: 0 });
  await inChunks(2000, 2000, (seq) => store.enqueue(page(`job-${seq % 200}`, seq)));
  const times: number[] = [];
  for (;;) {
    const t0 = process.hrtime.bigint();
    const lanes = await store.claim(SINK, READS);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (lanes.length === 0) break;
    await store.settle(lanes.map((l) => ({ lane: l, delivered: l.deliveries.map((d) => d.id) })));
  }
  await store.close();
  return times;
}

/** Release 0.1's queue, written out of git into node_modules/.cache so its imports resolve. */
async function legacyQueue(): Promise<any> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const out = join(root, 'node_modules', '.cache', 'relay-bench-v1');
  for (const file of ['src/queue/queue.ts', 'src/queue/schema.ts', 'src/errors.ts']) {
    const text = execFileSync('git', ['-C', root, 'show', `120b885:${file}`], { encoding: 'utf8' });
    mkdirSync(dirname(join(out, file)), { recursive: true });
    writeFileSync(join(out, file), text);
  }
  return (await import(join(out, 'src/queue/queue.ts'))).Queue;
}

/** 0.1: nextBatch time, and enqueue commit time while a dispatcher re-reads after each commit. */
async function legacyFigures(Queue: any, dir: string, backlog: number): Promise<{ reads: number[]; commits: number[] }> {
  const queue = new Queue({ dir, maxBytes: 2 ** 36, dedupeWindowSeconds: 0 });
  await queue.enqueue(page(STUCK, 0));
  const [head] = queue.nextBatch(SINK, 100);
  queue.settle(SINK, { delivered: [], retry: [{ id: head.id, jobId: STUCK, at: Date.now() + HOUR, error: 'HTTP 503', countAttempt: true }], dead: [] });
  await inChunks(backlog, 20_000, (seq) => queue.enqueue(page(STUCK, seq + 1)));
  // What 0.1's dispatcher did: every commit woke it, and it read a batch.
  const commits: number[] = [];
  queue.onEnqueued(() => queue.nextBatch(SINK, 100));
  for (const seq of range(200)) {
    const t0 = process.hrtime.bigint();
    await queue.enqueue(page(`job-${seq}`, seq));
    commits.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const reads: number[] = [];
  for (;;) {
    const [rows, ms] = timed(() => queue.nextBatch(SINK, 100));
    reads.push(ms);
    if (rows.length === 0) break;
    queue.settle(SINK, { delivered: rows.map((r: { id: number }) => r.id), retry: [], dead: [] });
  }
  queue.close();
  return { reads, commits };
}

/** Ack times of other jobs' webhooks through a relay on the filled queue. */
async function relayAcks(dir: string): Promise<number[]> {
  const out = join(dir, 'out');
  const config = writeBenchConfig(
    dir,
    `  ${SINK}: { type: file, dir: ${out}, markdown: false, max_pending_bytes: 68719476736, retry: { initial_delay_ms: ${HOUR}, max_delay_ms: ${HOUR} } }`,
    { dedupe: false },
  );
  const relay = await startRelayProcess(config);
  const http = new Pool(relay.url, { connections });
  const acks: number[] = [];
  try {
    let seq = 0;
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      range(connections).map(async () => {
        while (Date.now() < until) {
          const n = seq++;
          const t0 = process.hrtime.bigint();
          await postPage(http, `job-${n % 500}`, n);
          acks.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
  } finally {
    await http.close();
    await kill(relay, 'SIGTERM');
  }
  return acks;
}

const Queue = await legacyQueue();
for (const backlog of backlogs) {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-lanes-'));
  try {
    const queueDir = join(dir, 'queue');
    await fillLanes(queueDir, backlog);
    const ackTimes = await relayAcks(dir);
    const acks = stats(ackTimes);
    const reads = stats(await lanesReads(queueDir));
    const legacy = await legacyFigures(Queue, join(dir, 'v1'), backlog);
    const oldReads = stats(legacy.reads);
    const oldCommits = stats(legacy.commits);
    printResult(`lanes, backlog ${backlog}`, {
      'events of one job in backoff': backlog,
      'claim p50 ms (lanes)': reads.p50,
      'claim p99 ms (lanes)': reads.p99,
      [`ack p50 ms, relay, ${connections} connections`]: acks.p50,
      [`ack p99 ms, relay, ${connections} connections`]: acks.p99,
      'webhooks acked': ackTimes.length,
      'nextBatch p50 ms (0.1)': oldReads.p50,
      'nextBatch p99 ms (0.1)': oldReads.p99,
      'enqueue p50 ms, dispatcher reading (0.1)': oldCommits.p50,
      'enqueue p99 ms, dispatcher reading (0.1)': oldCommits.p99,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
