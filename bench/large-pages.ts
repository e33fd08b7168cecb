/**
 * Large pages: signed crawl.page events with 10 MB of markdown each, accepted and written
 * as markdown files by the file sink. Prints acceptance time, delivery time and peak RSS.
 *
 *   npm run bench:large -- [events=20] [concurrency=4]
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { kill, startRelayProcess } from '../test/helpers/process.js';
import { peakRssMiB, percentile, pool, postPage, printResult, writeBenchConfig } from './lib.js';

const total = Number(process.argv[2] ?? 20);
const concurrency = Number(process.argv[3] ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-large-'));
const out = join(dir, 'out');
const config = writeBenchConfig(dir, `  archive: { type: file, dir: ${out}, jsonl: null, batch_max_events: 4 }`);
const relay = await startRelayProcess(config);
const http = new Pool(relay.url, { connections: concurrency });
try {
  const acks: number[] = [];
  const started = Date.now();
  await pool(total, concurrency, async (seq) => {
    const sent = Date.now();
    await postPage(http, `large-${seq}`, seq, 10 * 1024 * 1024);
    acks.push(Date.now() - sent);
  });
  const acceptedMs = Date.now() - started;
  const pages = (): number =>
    existsSync(join(out, 'pages', 'crawl')) ? readdirSync(join(out, 'pages', 'crawl')).filter((job) => readdirSync(join(out, 'pages', 'crawl', job)).length > 0).length : 0;
  while (pages() < total && Date.now() - started < 300_000) await new Promise((r) => setTimeout(r, 200));
  const deliveredMs = Date.now() - started;
  const sample = join(out, 'pages', 'crawl', 'large-0');
  const size = statSync(join(sample, readdirSync(sample)[0]!)).size;
  acks.sort((a, b) => a - b);
  printResult('large pages', {
    events: total,
    'page MiB': Number((size / 1024 / 1024).toFixed(1)),
    'all accepted s': Number((acceptedMs / 1000).toFixed(1)),
    'ack p50 ms': percentile(acks, 50),
    'ack p99 ms': percentile(acks, 99),
    'all delivered s': Number((deliveredMs / 1000).toFixed(1)),
    delivered: pages(),
    'peak RSS MiB': peakRssMiB(relay.child.pid!),
  });
} finally {
  await http.close();
  await kill(relay, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
