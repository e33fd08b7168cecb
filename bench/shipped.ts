/**
 * The shipped config sustains what it acks: the relay runs `relay.config.yaml` as shipped
 * (file sink with markdown page files and JSON lines, the stdout sink for lifecycle events),
 * a 10 s burst of signed ~5 KB crawl.page webhooks over 64 connections is posted to it,
 * and the bench follows events.jsonl (one line per page, appended after its page file) to
 * print acks/s, pages written/s, how far behind delivery was when the burst ended and how
 * long after it delivery caught up. Only lifecycle events reach stdout (a few lines).
 *
 *   npm run bench:shipped -- [seconds=10] [connections=64] [jobs=20]
 */
import { copyFileSync, existsSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { CLI } from '../test/helpers/process.js';
import { SECRET, postPage, printResult, stopChild } from './lib.js';

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

const dir = mkdtempSync(join(tmpdir(), 'relay-bench-shipped-'));
const config = join(dir, 'relay.config.yaml');
// SHIPPED_CONFIG=<file> measures another config the same way (for comparisons).
copyFileSync(process.env.SHIPPED_CONFIG ?? fileURLToPath(new URL('../relay.config.yaml', import.meta.url)), config);
// stdout (the stdout sink's lines) goes to /dev/null; RELAY_PROFILE=<dir> writes a CPU profile
// there; RELAY_CLI=<path to dist/cli/main.js> runs another build (e.g. a release, for an A/B).
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
const relay = { url, child };
const http = new Pool(relay.url, { connections });
const written = lineCounter(join(dir, 'data', 'out', 'events.jsonl'));
try {
  const cpuBefore = cpuSeconds(relay.child.pid!);
  const started = Date.now();
  const until = started + seconds * 1000;
  let acked = 0;
  let seq = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        const n = seq++;
        await postPage(http, `crawl-${n % jobs}`, n);
        acked++;
      }
    }),
  );
  const burstMs = Date.now() - started;
  const atBurstEnd = written();
  let done = atBurstEnd;
  // Until every acked page is written, or nothing was written for 15 s (a stalled sink).
  for (let progressAt = Date.now(); done < acked && Date.now() - progressAt < 15_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = written();
    if (now > done) progressAt = Date.now();
    done = now;
  }
  const deliveredMs = Date.now() - started;
  const cpu = cpuSeconds(relay.child.pid!) - cpuBefore;
  printResult('shipped config (file sink: markdown pages + JSON lines; stdout for lifecycle)', {
    build: process.env.RELAY_CLI ?? 'this one',
    seconds,
    connections,
    jobs,
    'pages acked': acked,
    'acks/s': Math.round((acked / burstMs) * 1000),
    'pages written': done,
    'pages written/s (burst start to last page)': Math.round((done / deliveredMs) * 1000),
    'target pages/s': 5000,
    'pages behind when the burst ended': acked - atBurstEnd,
    'delivery ended after the burst, s': Number(((deliveredMs - burstMs) / 1000).toFixed(1)),
    // Pages/s once the burst is over: the sink alone, without ingress on the same core.
    'pages written/s after the burst': Math.round(((done - atBurstEnd) / Math.max(1, deliveredMs - burstMs)) * 1000),
    'relay CPU µs/page (ingress + delivery)': Math.round((cpu * 1e6) / Math.max(1, done)),
  });
} finally {
  await http.close();
  await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
}
