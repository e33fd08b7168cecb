/**
 * End to end into Kafka: signed crawl.page events (~5 KB markdown) posted to a relay
 * child process, produced into a librdkafka mock cluster (3 brokers). Prints sustained
 * events/s (first request to last delivery) and ack-to-delivery latency, where delivery is
 * the message's CreateTime, stamped by the producer as it sends.
 *
 *   npm run bench:kafka -- [events=20000] [concurrency=128]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { followWithKcat, kafkaToolsMissing, startMockCluster } from '../test/helpers/mock-cluster.js';
import { kill, startRelayProcess } from '../test/helpers/process.js';
import { endToEnd, pool, postPage, printResult, writeBenchConfig } from './lib.js';

const total = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 128);
const jobs = 100;
const topic = 'bench.pages';

const missing = kafkaToolsMissing();
if (missing) {
  console.error(`bench:kafka needs the Kafka mock cluster: ${missing}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'relay-bench-kafka-'));
const cluster = await startMockCluster(3);
const config = writeBenchConfig(
  dir,
  `  kafka:
    type: kafka
    brokers: [${cluster.brokers.join(', ')}]
    topic: ${topic}
    headers: { seq: "{{data.0.metadata.scrapeId}}" }
    batch_max_events: 1000`,
);
const relay = await startRelayProcess(config);
const http = new Pool(relay.url, { connections: concurrency });
const acked = new Map<string, number>();

async function post(seq: number): Promise<void> {
  await postPage(http, `bench-job-${seq % jobs}`, seq);
  acked.set(`scrape-${seq}`, Date.now());
}

const delivered = new Map<string, number>();
const follower = followWithKcat(cluster.brokers, topic, (m) => {
  if (m.headers.seq) delivered.set(m.headers.seq, m.ts);
});

try {
  await pool(500, concurrency, (i) => post(-1 - i)); // warm-up, not measured
  acked.clear();
  const started = Date.now();
  await pool(total, concurrency, post);
  const ingestMs = Date.now() - started;

  // Wait for every measured event to be read back.
  const measured = (): number => [...acked.keys()].filter((seq) => delivered.has(seq)).length;
  for (let waited = 0; measured() < total && waited < 120_000; waited += 200) await new Promise((r) => setTimeout(r, 200));

  printResult('kafka end-to-end', {
    events: total,
    concurrency,
    'ingest acks/s': Math.round((total / ingestMs) * 1000),
    ...endToEnd(acked, delivered, started),
    'target events/s': 5000,
  });
} finally {
  await follower.stop();
  await kill(relay, 'SIGTERM');
  await cluster.stop();
  await http.close();
  rmSync(dir, { recursive: true, force: true });
}

