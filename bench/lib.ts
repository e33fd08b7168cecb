import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Pool } from 'undici';
import { sign } from '../src/ingress/verify.js';

export const SECRET = 'bench-secret';

/** A signed crawl.page webhook with about `markdownBytes` of markdown. */
export function crawlPage(job: string, seq: number, markdownBytes = 5 * 1024): { body: string; signature: string } {
  const line = `Lorem ipsum dolor sit amet, consectetur adipiscing elit (${seq}). `;
  const markdown = `# Page ${seq}\n\n${line.repeat(Math.ceil(markdownBytes / line.length))}`.slice(0, markdownBytes);
  const body = JSON.stringify({
    success: true,
    type: 'crawl.page',
    id: job,
    data: [{ markdown, metadata: { url: `https://example.com/${seq}`, title: `Page ${seq}`, statusCode: 200, scrapeId: `scrape-${seq}` } }],
    metadata: { bench: true },
  });
  return { body, signature: sign(SECRET, body) };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** autocannon options that post one signed ~5 KB crawl.page, again and again, to a bench relay. */
export function signedPagePosts(url: string, connections: number) {
  const { body, signature } = crawlPage('bench-job', 1);
  return {
    url: `${url}/webhooks/firecrawl`,
    connections,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature },
    body,
  };
}

/** The middle value (the lower of the two middle ones of an even count). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** CPU seconds a process used so far, all threads, user and system (Linux /proc, clock ticks of 10 ms). */
export function processCpuSeconds(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** Runs `total` jobs with at most `concurrency` at once. */
export async function pool(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await job(next++);
    }),
  );
}

export function printResult(name: string, rows: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  console.log(`\n${name}`);
  for (const [key, value] of Object.entries(rows)) console.log(`  ${key.padEnd(width)}  ${value}`);
  console.log(`JSON ${JSON.stringify({ bench: name, ...rows })}`);
}

/** Starts a bench server script (TypeScript, through tsx) and waits for its address. */
export async function startServer(script: string, env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  for (;;) {
    const line = await lines.next();
    if (line.done) throw new Error(`${script} exited before listening`);
    try {
      const { listening } = JSON.parse(line.value) as { listening?: string };
      if (listening) return { url: listening, child };
    } catch {
      // not our line
    }
  }
}

/** Peak resident memory of a process, in MiB (VmHWM, Linux). */
export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Posts one signed crawl.page (`scrape-<seq>`) to the relay; throws on anything but 200. */
export async function postPage(http: Pool, job: string, seq: number, markdownBytes?: number): Promise<void> {
  const { body, signature } = crawlPage(job, seq, markdownBytes);
  const response = await http.request({
    path: '/webhooks/firecrawl',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature },
    body,
  });
  await response.body.dump();
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
}

/**
 * End-to-end figures from when each event was acked and when it reached the destination
 * (both keyed by `scrape-<seq>`): how many arrived, sustained events/s from `started` to the
 * last arrival, and ack-to-delivery p50/p99.
 */
export function endToEnd(acked: ReadonlyMap<string, number>, arrived: ReadonlyMap<string, number>, started: number) {
  const latencies: number[] = [];
  let last = 0;
  for (const [seq, ack] of acked) {
    const at = arrived.get(seq);
    if (at === undefined) continue;
    latencies.push(Math.max(0, at - ack));
    last = Math.max(last, at);
  }
  latencies.sort((a, b) => a - b);
  return {
    delivered: latencies.length,
    'end-to-end events/s': Math.round((latencies.length / (last - started)) * 1000),
    'ack-to-delivery p50 ms': percentile(latencies, 50),
    'ack-to-delivery p99 ms': percentile(latencies, 99),
  };
}

/**
 * Writes `relay.config.yaml` in `dir` for a bench relay: any free port, one source with the
 * bench secret, the queue in `dir` (or `queue`, a YAML map), and the given sinks all on one route. Returns its path.
 */
export function writeBenchConfig(dir: string, sinks: string, options: { dedupe?: boolean; log?: string; queue?: string } = {}): string {
  const file = join(dir, 'relay.config.yaml');
  const names = [...sinks.matchAll(/^ {2}([A-Za-z0-9_-]+):/gm)].map((m) => m[1]);
  writeFileSync(
    file,
    `server: { port: 0 }
log: { level: ${options.log ?? 'info'} }
sources: { firecrawl: { path: /webhooks/firecrawl, secrets: ["${SECRET}"], dedupe: ${options.dedupe ?? true} } }
queue: ${options.queue ?? `{ dir: ${join(dir, 'queue')}, max_bytes: 8589934592 }`}
sinks:
${sinks}
routes: [{ name: all, to: [${names.join(', ')}] }]
`,
  );
  return file;
}
