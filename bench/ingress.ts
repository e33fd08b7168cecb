/**
 * Ingress: autocannon against (a) a bare Fastify route, (b) the handler a user writes from
 * Firecrawl's docs (HMAC, parse, answer), (c) the relay with its durable queue and a sink
 * that writes nothing. Same signed crawl.page body (~5 KB markdown), same connections.
 * Dedupe is off for (c): every request is a new event committed to disk.
 *
 * Each target also shows its CPU: per request, and how busy it and autocannon were (on a
 * small machine they share the cores). A comma list of connection counts measures each.
 *
 *   npm run bench:ingress -- [seconds=10] [connections=64, e.g. 16,32,64]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startRelayProcess } from '../test/helpers/process.js';
import { SECRET, printResult, processCpuSeconds, signedPagePosts, startServer, stopChild, writeBenchConfig } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const connectionCounts = (process.argv[3] ?? '64').split(',').map(Number);

/** CPU seconds a process used so far, all threads. */
function cpuSeconds(pid: number): number {
  const { user, system } = processCpuSeconds(pid);
  return user + system;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  serverCpuUsPerRequest: number;
  serverCpuPercent: number;
  clientCpuPercent: number;
}

async function load(url: string, pid: number, connections: number): Promise<Load> {
  const options = signedPagePosts(url, connections);
  await autocannon({ ...options, duration: 2 });
  const serverBefore = cpuSeconds(pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({ ...options, duration: seconds });
  const elapsed = (performance.now() - started) / 1000;
  const serverCpu = cpuSeconds(pid) - serverBefore;
  const client = process.cpuUsage(clientBefore);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    serverCpuUsPerRequest: Math.round((serverCpu * 1e6) / result.requests.total),
    serverCpuPercent: Math.round((serverCpu / elapsed) * 100),
    clientCpuPercent: Math.round(((client.user + client.system) / 1e6 / elapsed) * 100),
  };
}

/** Starts a target, loads it at every connection count, stops it. */
async function measure(start: () => Promise<{ url: string; child: ChildProcess }>): Promise<Load[]> {
  const server = await start();
  try {
    const loads: Load[] = [];
    for (const connections of connectionCounts) loads.push(await load(server.url, server.child.pid!, connections));
    return loads;
  } finally {
    await stopChild(server.child);
  }
}

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-ingress-'));
try {
  const env = { FIRECRAWL_WEBHOOK_SECRET: SECRET };
  const a = await measure(() => startServer(here('servers/bare.ts'), env));
  const b = await measure(() => startServer(here('servers/handwritten.ts'), env));
  const config = writeBenchConfig(dir, `  discard: { type: file, dir: ${join(dir, 'out')}, jsonl: null, markdown: false }`, { dedupe: false });
  const c = await measure(() => startRelayProcess(config));

  connectionCounts.forEach((connections, i) => {
    for (const [name, r] of [['a bare fastify', a[i]!], ['b hand-written', b[i]!], ['c relay', c[i]!]] as const) {
      printResult(`ingress ${name}`, {
        connections,
        'requests/s': r.rps,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        errors: r.errors,
        'non-2xx': r.non2xx,
        'server CPU µs/request': r.serverCpuUsPerRequest,
        'server CPU %': r.serverCpuPercent,
        'autocannon CPU %': r.clientCpuPercent,
      });
    }
    printResult('ingress ratios', {
      connections,
      '(c)/(a)': Number((c[i]!.rps / a[i]!.rps).toFixed(2)),
      '(c)/(b)': Number((c[i]!.rps / b[i]!.rps).toFixed(2)),
      'target (c)/(a)': 0.6,
      '(c) p99 ms': c[i]!.p99,
      'target p99 ms': 20,
      // Every request to (c) is one accepted event (dedupe off): CPU per event, beside (a) and (b).
      'CPU µs/event (c) [a, b]': `${c[i]!.serverCpuUsPerRequest} [${a[i]!.serverCpuUsPerRequest}, ${b[i]!.serverCpuUsPerRequest}]`,
      'target CPU µs/event (c)': 100,
      seconds,
    });
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
