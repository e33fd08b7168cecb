/**
 * Several relays on one PostgreSQL queue, end to end: signed crawl.page events (~5 KB)
 * posted round-robin over N relay processes, forwarded by a webhook sink to a receiver on
 * 127.0.0.1. For the SQLite queue (one relay) and PostgreSQL with 1, 2 and 3 relays:
 * ingest acks/s, end-to-end events/s, ack p50/p99 (the webhook's answer time), and CPU µs
 * per event of the relays together and of PostgreSQL. On a small machine every process
 * shares the same cores: this shows the overhead per event, not the scaling.
 *
 *   npm run bench:scale -- [events=10000] [concurrency=64] [replicas=1,2,3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startPostgres, processTreeCpuMicros, type PostgresCluster } from '../test/helpers/postgres.js';
import { kill, startRelayProcess, type RelayProcess } from '../test/helpers/process.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { endToEnd, percentile, pool, postPage, printResult, writeBenchConfig } from './lib.js';

const total = Number(process.argv[2] ?? 10_000);
const concurrency = Number(process.argv[3] ?? 64);
const replicaCounts = (process.argv[4] ?? '1,2,3').split(',').map(Number);

const arrived = new Map<string, number>();
const receiver = await startReceiver((request, response) => {
  const seq = /"scrapeId":"(scrape-[-\d]+)"/.exec(request.body.toString('latin1'))?.[1];
  if (seq) arrived.set(seq, Date.now());
  response.end('ok');
});

async function run(name: string, replicas: number, queue: string | undefined, cluster: PostgresCluster | null): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-scale-'));
  const config = writeBenchConfig(dir, `  hook: { type: webhook, url: "${receiver.url}/in", max_in_flight: 32, batch_max_events: 500 }`, {
    log: 'warn',
    ...(queue ? { queue } : {}),
  });
  const relays: RelayProcess[] = [];
  const pools: Pool[] = [];
  try {
    for (let i = 0; i < replicas; i++) relays.push(await startRelayProcess(config, { RELAY_LOG_LEVEL: 'info' }));
    for (const relay of relays) pools.push(new Pool(relay.url, { connections: Math.ceil(concurrency / replicas) }));
    const acked = new Map<string, number>();
    const ackMs: number[] = [];
    const post = async (seq: number): Promise<void> => {
      const sent = Date.now();
      await postPage(pools[Math.abs(seq) % pools.length]!, `job-${Math.abs(seq) % 100}`, seq);
      const at = Date.now();
      if (seq >= 0) {
        acked.set(`scrape-${seq}`, at);
        ackMs.push(at - sent);
      }
    };
    await pool(500, concurrency, (i) => post(-1 - i)); // warm-up
    const relayCpu = (): number => relays.reduce((sum, r) => sum + processTreeCpuMicros(r.child.pid!), 0);
    const cpu0 = { relays: relayCpu(), postgres: cluster?.cpuMicros() ?? 0 };
    arrived.clear();
    receiver.requests.length = 0;
    const started = Date.now();
    await pool(total, concurrency, post);
    const ingestMs = Date.now() - started;
    const measured = (): number => [...acked.keys()].filter((seq) => arrived.has(seq)).length;
    for (let waited = 0; measured() < total && waited < 180_000; waited += 200) {
      receiver.requests.length = 0;
      await new Promise((r) => setTimeout(r, 200));
    }
    const cpu = { relays: relayCpu() - cpu0.relays, postgres: (cluster?.cpuMicros() ?? 0) - cpu0.postgres };
    ackMs.sort((a, b) => a - b);
    printResult(`scale: ${name}`, {
      relays: replicas,
      events: total,
      concurrency,
      'ingest acks/s': Math.round((total / ingestMs) * 1000),
      ...endToEnd(acked, arrived, started),
      'ack p50 ms': percentile(ackMs, 50),
      'ack p99 ms': percentile(ackMs, 99),
      'relays CPU µs/event': Math.round(cpu.relays / total),
      'postgres CPU µs/event': cluster ? Math.round(cpu.postgres / total) : '-',
    });
  } finally {
    for (const p of pools) await p.close();
    for (const relay of relays) await kill(relay, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

const cluster = await startPostgres();
try {
  await run('sqlite, 1 relay', 1, undefined, null);
  for (const replicas of replicaCounts) {
    const url = await cluster.createDatabase(`bench_scale_${replicas}`);
    await run(`postgres, ${replicas} relay${replicas > 1 ? 's' : ''}`, replicas, `{ store: postgres, url: "${url}", max_bytes: 8589934592 }`, cluster);
  }
} finally {
  await cluster.destroy();
  await receiver.close();
}
