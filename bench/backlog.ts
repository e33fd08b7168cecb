/**
 * Backlog: the sink is down while 100,000 signed crawl.page events (~5 KB) are accepted;
 * prints the relay's peak RSS (target ≤ 256 MB: the backlog lives on disk), then brings
 * the sink back and prints how long the queue took to drain, checking every event arrived.
 *
 *   npm run bench:backlog -- [events=100000] [concurrency=64]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { kill, startRelayProcess } from '../test/helpers/process.js';
import { peakRssMiB, pool, postPage, printResult, writeBenchConfig } from './lib.js';

const total = Number(process.argv[2] ?? 100_000);
const concurrency = Number(process.argv[3] ?? 64);
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-backlog-'));
const out = join(dir, 'out');
// The sink is "down" while its folder is a file: every connect fails and events wait.
writeFileSync(out, 'blocked');
const config = writeBenchConfig(
  dir,
  `  archive: { type: file, dir: ${out}, markdown: false, batch_max_events: 1000, retry: { initial_delay_ms: 200, max_delay_ms: 500 } }`,
  { dedupe: false },
);

const relay = await startRelayProcess(config);
const http = new Pool(relay.url, { connections: concurrency });
try {
  const started = Date.now();
  await pool(total, concurrency, (seq) => postPage(http, `job-${seq % 500}`, seq));
  const ingestMs = Date.now() - started;
  const rssWhileDown = peakRssMiB(relay.child.pid!);

  rmSync(out);
  mkdirSync(out);
  const back = Date.now();
  const file = join(out, 'events.jsonl');
  const lines = (): number => (existsSync(file) ? readFileSync(file).reduce((n, byte) => (byte === 10 ? n + 1 : n), 0) : 0);
  let delivered = 0;
  while ((delivered = lines()) < total && Date.now() - back < 600_000) await new Promise((r) => setTimeout(r, 500));
  const drainMs = Date.now() - back;
  printResult('backlog', {
    events: total,
    'accepted while down, events/s': Math.round((total / ingestMs) * 1000),
    'peak RSS while down MiB': rssWhileDown,
    'target peak RSS MiB': 256,
    delivered,
    'drain s': Number((drainMs / 1000).toFixed(1)),
    'drain events/s': Math.round((delivered / drainMs) * 1000),
    'peak RSS overall MiB': peakRssMiB(relay.child.pid!),
  });
} finally {
  await http.close();
  await kill(relay, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
