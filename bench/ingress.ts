/**
 * Ingress: autocannon against (a) a bare Fastify route, (b) the handler a user writes from
 * Firecrawl's docs (HMAC, parse, answer), (c) the relay with its durable queue and a sink
 * that writes nothing. Same signed crawl.page body (~5 KB markdown), same connections.
 * Dedupe is off for (c): every request is a new event committed to disk.
 *
 *   npm run bench:ingress -- [seconds=10] [connections=64]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startRelayProcess } from '../test/helpers/process.js';
import { SECRET, crawlPage, printResult, startServer, stopChild, writeBenchConfig } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);
const { body, signature } = crawlPage('bench-job', 1);

/** CPU seconds a process used so far, all threads (Linux /proc, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Load { rps: number; p50: number; p99: number; errors: number; non2xx: number; serverCpuUsPerRequest: number; serverCpuPercent: number; clientCpuPercent: number }

async function load(url: string, pid: number): Promise<Load> {
  await autocannon({ url: `${url}/webhooks/firecrawl`, connections, duration: 2, method: 'POST', headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature }, body });
  const serverBefore = cpuSeconds(pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: `${url}/webhooks/firecrawl`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature },
    body,
  });
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

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-ingress-'));
const results: Record<string, Load> = {};
try {
  for (const [name, script] of [['a bare fastify', 'servers/bare.ts'], ['b hand-written', 'servers/handwritten.ts']] as const) {
    const server = await startServer(here(script), { FIRECRAWL_WEBHOOK_SECRET: SECRET });
    results[name] = await load(server.url, server.child.pid!);
    await stopChild(server.child);
  }
  const config = writeBenchConfig(
    dir,
    `  discard: { type: file, dir: ${join(dir, "out")}, jsonl: null, markdown: false }`,
    { dedupe: false },
  );
  const relay = await startRelayProcess(config);
  results['c relay'] = await load(relay.url, relay.child.pid!);
  await stopChild(relay.child);

  const a = results['a bare fastify']!;
  const b = results['b hand-written']!;
  const c = results['c relay']!;
  for (const [name, r] of Object.entries(results)) {
    printResult(`ingress ${name}`, {
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
    '(c)/(a)': Number((c.rps / a.rps).toFixed(2)),
    '(c)/(b)': Number((c.rps / b.rps).toFixed(2)),
    'target (c)/(a)': 0.6,
    '(c) p99 ms': c.p99,
    'target p99 ms': 20,
    connections,
    seconds,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
