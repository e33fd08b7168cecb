/**
 * End to end into S3 (Ceph radosgw on 127.0.0.1): signed crawl.page events (~5 KB) posted
 * to a relay child process, written by the s3 sink as one markdown object per page.
 * Delivery time is the object's LastModified (radosgw keeps milliseconds).
 *
 *   npm run bench:s3 -- [events=5000] [concurrency=64]
 */
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { kill, startRelayProcess } from '../test/helpers/process.js';
import { radosgwMissing, s3ClientFor, startRadosgw } from '../test/helpers/radosgw.js';
import { endToEnd, pool, postPage, printResult, writeBenchConfig } from './lib.js';

const total = Number(process.argv[2] ?? 5000);
const concurrency = Number(process.argv[3] ?? 64);
const missing = radosgwMissing();
if (missing) {
  console.error(`bench:s3 needs radosgw: ${missing}`);
  process.exit(1);
}
const rgw = await startRadosgw();
const s3 = s3ClientFor(rgw);
await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));

async function listed(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'bench', ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!.split('/').pop()!.replace(/\.md$/, ''), o.LastModified!.getTime());
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'relay-bench-s3-'));
const config = writeBenchConfig(
  dir,
  `  pages:
    type: s3
    bucket: bench
    endpoint: ${rgw.endpoint}
    force_path_style: true
    access_key_id: ${rgw.accessKeyId}
    secret_access_key: ${rgw.secretAccessKey}
    max_in_flight: 32
    batch_max_events: 200`,
);
const relay = await startRelayProcess(config);
const http = new Pool(relay.url, { connections: concurrency });
const acked = new Map<string, number>();
try {
  const started = Date.now();
  await pool(total, concurrency, async (seq) => {
    await postPage(http, `job-${seq % 100}`, seq);
    acked.set(`scrape-${seq}`, Date.now());
  });
  const ingestMs = Date.now() - started;
  let objects = await listed();
  for (let waited = 0; objects.size < total && waited < 300_000; waited += 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    objects = await listed();
  }
  printResult('s3 end-to-end (radosgw)', { events: total, concurrency, 'ingest acks/s': Math.round((total / ingestMs) * 1000), ...endToEnd(acked, objects, started) });
} finally {
  await http.close();
  await kill(relay, 'SIGTERM');
  s3.destroy();
  await rgw.stop();
  rmSync(dir, { recursive: true, force: true });
}
