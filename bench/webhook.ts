/**
 * End to end into a webhook receiver: signed crawl.page events (~5 KB) posted to a relay
 * child process, forwarded re-signed by the webhook sink to a receiver on 127.0.0.1 that
 * records when each arrives. Prints sustained events/s and ack-to-delivery latency.
 *
 *   npm run bench:webhook -- [events=20000] [concurrency=64]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { kill, startRelayProcess } from '../test/helpers/process.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { endToEnd, pool, postPage, printResult, writeBenchConfig } from './lib.js';

const total = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 64);
const arrived = new Map<string, number>();
const receiver = await startReceiver((request, response) => {
  const seq = /"scrapeId":"(scrape-[-\d]+)"/.exec(request.body.toString('latin1'))?.[1];
  if (seq) arrived.set(seq, Date.now());
  response.end('ok');
});
receiver.requests.length = 0;
const keep = receiver.requests;
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-webhook-'));
const config = writeBenchConfig(
  dir,
  `  hook: { type: webhook, url: "${receiver.url}/in", signature: { scheme: firecrawl, secret: out-secret }, max_in_flight: 32, batch_max_events: 500 }`,
);
const relay = await startRelayProcess(config);
const http = new Pool(relay.url, { connections: concurrency });
const acked = new Map<string, number>();
try {
  const post = async (seq: number): Promise<void> => {
    await postPage(http, `job-${seq % 100}`, seq);
    acked.set(`scrape-${seq}`, Date.now());
  };
  await pool(500, concurrency, (i) => post(-1 - i));
  acked.clear();
  const started = Date.now();
  await pool(total, concurrency, post);
  const ingestMs = Date.now() - started;
  const measured = (): number => [...acked.keys()].filter((seq) => arrived.has(seq)).length;
  for (let waited = 0; measured() < total && waited < 120_000; waited += 200) {
    keep.length = 0; // the receiver's own log of bodies is not needed here
    await new Promise((r) => setTimeout(r, 200));
  }
  printResult('webhook end-to-end', { events: total, concurrency, 'ingest acks/s': Math.round((total / ingestMs) * 1000), ...endToEnd(acked, arrived, started) });
} finally {
  await http.close();
  await kill(relay, 'SIGTERM');
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
