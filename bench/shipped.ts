/**
 * The shipped config sustains what it acks: the relay runs `relay.config.yaml` as shipped
 * (file sink with markdown page files and JSON lines, the stdout sink for lifecycle events),
 * a 10 s burst of signed ~5 KB crawl.page webhooks over 64 connections is posted to it,
 * and the bench follows events.jsonl (one line per page, appended after its page file) to
 * print acks/s, pages written/s, how far behind delivery was when the burst ended and how
 * long after it delivery caught up. Only lifecycle events reach stdout (a few lines).
 *
 * The load generator is cheap (bench/raw-load.ts: every signed request is built before the
 * burst and written on a raw keep-alive socket) and prints its own CPU per request; the same
 * generator, in the same run, first measures a bare Fastify route that answers 200 (the
 * baseline: what Node's HTTP alone acks here, with the generator on the same cores).
 * SHIPPED_MAX_RATE (default 10000) × seconds requests are built: a burst that sends them all
 * ends early and says so.
 *
 * What the file system allows, in the same run: just before the burst, a plain loop on this
 * thread creates SHIPPED_FS_FILES (default 5000) files of 5 KB as the page writer does
 * (temporary file, rename) in a folder beside the relay's data dir, and removes them; pages
 * written/s is printed as a ratio of that rate too.
 *
 *   npm run bench:shipped -- [seconds=10] [connections=64] [jobs=20]
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from '../test/helpers/process.js';
import { SECRET, crawlPage, printResult, startServer, stopChild } from './lib.js';
import { burst, serialisePost } from './raw-load.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);
const jobs = Number(process.argv[4] ?? 20);

/** Counts lines appended to a file since the last call, reading only the new bytes. */
function lineCounter(file: string): () => number {
  let offset = 0;
  let lines = 0;
  const chunk = Buffer.alloc(1 << 20);
  return () => {
    if (!existsSync(file)) return 0;
    const fd = openSync(file, 'r');
    try {
      for (let read = readSync(fd, chunk, 0, chunk.length, offset); read > 0; read = readSync(fd, chunk, 0, chunk.length, offset)) {
        offset += read;
        for (let i = 0; i < read; i++) if (chunk[i] === 10) lines++;
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  };
}

/** CPU seconds a process used so far, all threads (Linux /proc, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds per thread name (Linux /proc/<pid>/task): where the relay's CPU goes. */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      const key = tid === String(pid) ? 'main' : name;
      byName.set(key, (byName.get(key) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return byName;
}

/** Page files/s a plain loop creates in `folder` (5 KB each, temporary then rename, as the page writer); removed after. */
function fileSystemBaseline(folder: string, count: number): number {
  mkdirSync(folder, { recursive: true });
  const text = 'x'.repeat(5 * 1024);
  const started = performance.now();
  for (let n = 0; n < count; n++) {
    const path = join(folder, `p${n}.md`);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  const elapsedMs = performance.now() - started;
  rmSync(folder, { recursive: true, force: true });
  return Math.round((count / elapsedMs) * 1000);
}

/** Every request of the burst, signed and serialised: `scrape-<seq>` of job `crawl-<seq % jobs>`. */
function buildRequests(url: string, count: number): Buffer[] {
  return Array.from({ length: count }, (_, n) => {
    const { body, signature } = crawlPage(`crawl-${n % jobs}`, n);
    return serialisePost(url, '/webhooks/firecrawl', { 'content-type': 'application/json', 'x-firecrawl-signature': signature }, body);
  });
}

const maxRate = Number(process.env.SHIPPED_MAX_RATE ?? 10_000);
const built = performance.now();
// The host header is the only part that names the server: both targets listen on 127.0.0.1.
const requests = buildRequests('http://127.0.0.1', seconds * maxRate);
const buildMs = performance.now() - built;

// Baseline, same generator and requests: a Fastify route that reads the body and answers 200.
const bare = await startServer(fileURLToPath(new URL('servers/bare.ts', import.meta.url)));
let baseline: Awaited<ReturnType<typeof burst>>;
let bareCpuUs: number;
try {
  const cpuBefore = cpuSeconds(bare.child.pid!);
  baseline = await burst(bare.url, requests, connections, seconds);
  bareCpuUs = ((cpuSeconds(bare.child.pid!) - cpuBefore) * 1e6) / Math.max(1, baseline.acked);
} finally {
  await stopChild(bare.child);
}

const dir = mkdtempSync(join(tmpdir(), 'relay-bench-shipped-'));
const config = join(dir, 'relay.config.yaml');
// SHIPPED_CONFIG=<file> measures another config the same way (for comparisons).
copyFileSync(process.env.SHIPPED_CONFIG ?? fileURLToPath(new URL('../relay.config.yaml', import.meta.url)), config);
// stdout (the stdout sink's lines) goes to /dev/null; RELAY_PROFILE=<dir> writes a CPU profile
// there (one per thread); RELAY_CLI=<path to dist/cli/main.js> runs another build (e.g. a release, for an A/B).
const profile = process.env.RELAY_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.RELAY_PROFILE] : [];
const child = spawn(process.execPath, [...profile, process.env.RELAY_CLI ?? CLI, 'serve', '--config', config], {
  env: { ...process.env, FIRECRAWL_WEBHOOK_SECRET: SECRET, RELAY_DATA_DIR: join(dir, 'data'), RELAY_PORT: '0' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const url = await new Promise<string>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`relay exited with ${code} before listening`)));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    const entry = (() => {
      try {
        return JSON.parse(line) as { msg?: string; address?: string; level?: number };
      } catch {
        return {};
      }
    })();
    if (entry.msg === 'relay listening' && entry.address) resolve(entry.address);
    else if ((entry.level ?? 0) >= 40) process.stderr.write(`${line}\n`);
  });
});
const written = lineCounter(join(dir, 'data', 'out', 'events.jsonl'));
try {
  const fileSystemPagesPerSecond = fileSystemBaseline(join(dir, 'fs-baseline'), Number(process.env.SHIPPED_FS_FILES ?? 5000));
  const cpuBefore = cpuSeconds(child.pid!);
  const threadsBefore = threadCpu(child.pid!);
  const run = await burst(url, requests, connections, seconds);
  const { acked, elapsedMs: burstMs } = run;
  const atBurstEnd = written();
  const cpuAtBurstEnd = cpuSeconds(child.pid!);
  let done = atBurstEnd;
  // Until every acked page is written, or nothing was written for 15 s (a stalled sink).
  const drainStarted = performance.now();
  for (let progressAt = performance.now(); done < acked && performance.now() - progressAt < 15_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = written();
    if (now > done) progressAt = performance.now();
    done = now;
  }
  const drainMs = performance.now() - drainStarted;
  const cpu = cpuSeconds(child.pid!) - cpuBefore;
  const threads = [...threadCpu(child.pid!)]
    .map(([name, seconds]) => [name, seconds - (threadsBefore.get(name) ?? 0)] as const)
    .filter(([, seconds]) => seconds > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, seconds]) => `${name} ${Math.round((seconds * 1e6) / Math.max(1, done))}`)
    .join(', ');
  const perSecond = (n: number, ms: number): number => Math.round((n / Math.max(1, ms)) * 1000);
  printResult('shipped config (file sink: markdown pages + JSON lines; stdout for lifecycle)', {
    build: process.env.RELAY_CLI ?? 'this one',
    seconds,
    connections,
    jobs,
    'load avg 1 min': loadavg()[0]!.toFixed(1),
    'requests pre-built (s to build)': `${requests.length} (${(buildMs / 1000).toFixed(1)})`,
    'baseline: bare Fastify acks/s': perSecond(baseline.acked, baseline.elapsedMs),
    'baseline: bare Fastify CPU µs/request': Math.round(bareCpuUs),
    'baseline: generator CPU µs/request': baseline.generatorCpuUsPerRequest,
    'pages acked': acked,
    refused: run.refused,
    'generator ran out of requests': run.ranOut ? 'yes: raise SHIPPED_MAX_RATE' : 'no',
    'acks/s': perSecond(acked, burstMs),
    'acks/s ÷ bare Fastify acks/s': Number((perSecond(acked, burstMs) / perSecond(baseline.acked, baseline.elapsedMs)).toFixed(2)),
    'generator CPU µs/request': run.generatorCpuUsPerRequest,
    'file system: page files/s (plain loop, one thread)': fileSystemPagesPerSecond,
    'pages written/s during the burst': perSecond(atBurstEnd, burstMs),
    'pages written/s during the burst ÷ file system page files/s': Number((perSecond(atBurstEnd, burstMs) / fileSystemPagesPerSecond).toFixed(2)),
    'target pages/s': 5000,
    'written/acked at burst end (1: the sink kept up)': Number((atBurstEnd / Math.max(1, acked)).toFixed(2)),
    'pages behind when the burst ended': acked - atBurstEnd,
    'delivery ended after the burst, s': Number((drainMs / 1000).toFixed(1)),
    'pages written/s (burst start to last page)': perSecond(done, burstMs + drainMs),
    // Pages/s once the burst is over: the sink alone, without ingress on the same core.
    'pages written/s after the burst': perSecond(done - atBurstEnd, drainMs),
    'pages written': done,
    'relay CPU µs/ack during the burst (ingress + delivery)': Math.round(((cpuAtBurstEnd - cpuBefore) * 1e6) / Math.max(1, acked)),
    'relay CPU µs/page (ingress + delivery, to the last page)': Math.round((cpu * 1e6) / Math.max(1, done)),
    'of which, per thread': threads,
  });
} finally {
  await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
}
