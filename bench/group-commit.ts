/**
 * Group commit A/B: the relay of the ingress bench (c) — durable queue, a sink that writes
 * nothing, dedupe off — with its enqueue made durable two ways, alternated A B A B in one run:
 *   inline     synchronous=FULL, the WAL fsync inside each commit, on the main thread;
 *   pipelined  commit with synchronous=NORMAL, then one fdatasync of the WAL on the thread
 *              pool at a time; requests arriving meanwhile form the next group; each ack
 *              waits for the sync that covers its commit.
 * Prints requests/s, p50/p99 and the relay's CPU µs per accepted event for each.
 *
 *   npm run bench:group-commit -- [seconds=10] [connections=64] [rounds=2]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startRelayProcess, kill } from '../test/helpers/process.js';
import { crawlPage, printResult, writeBenchConfig } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);
const rounds = Number(process.argv[4] ?? 2);
const { body, signature } = crawlPage('bench-job', 1);

/** CPU seconds a process used so far, all threads (Linux /proc, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(sync: 'inline' | 'pipelined'): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-commit-'));
  const config = writeBenchConfig(dir, `  discard: { type: file, dir: ${join(dir, 'out')}, jsonl: null, markdown: false }`, { dedupe: false });
  const relay = await startRelayProcess(config, { RELAY_QUEUE_SYNC: sync });
  try {
    const options = {
      url: `${relay.url}/webhooks/firecrawl`,
      connections,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature },
      body,
    };
    await autocannon({ ...options, duration: 2 });
    const before = cpuSeconds(relay.child.pid!);
    const result = await autocannon({ ...options, duration: seconds });
    const cpu = cpuSeconds(relay.child.pid!) - before;
    return {
      sync,
      'requests/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'non-2xx': result.non2xx,
      'server CPU µs/event': Math.round((cpu * 1e6) / result.requests.total),
    };
  } finally {
    await kill(relay, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

for (let round = 1; round <= rounds; round++) {
  for (const sync of ['inline', 'pipelined'] as const) printResult(`group commit, round ${round}`, { connections, ...(await measure(sync)) });
}
