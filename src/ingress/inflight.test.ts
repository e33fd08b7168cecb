import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Relay } from '../relay.js';
import { sign } from './verify.js';
import { SECRET, configYaml, registryWith, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { RecordingSink, until } from '../../test/helpers/sinks.js';
import { sampleEvent } from '../../test/helpers/webhooks.js';

let relay: Relay;
let recorder: RecordingSink;
let url: URL;
let cleanup: () => void;

/** A signed crawl.page of about `bytes` bytes. */
function page(bytes: number, n: number): { body: Buffer; signature: string } {
  const event = sampleEvent('crawl.page', { id: `job-${n}` });
  const body = Buffer.from(JSON.stringify({ ...event, metadata: { padding: 'x'.repeat(bytes) } }));
  return { body, signature: sign(SECRET, body) };
}

/** Starts a POST and sends the first `sent` bytes of its body; `finish` sends the rest. */
function startPost(body: Buffer, signature: string, sent = body.length) {
  let req!: ClientRequest;
  const answer = new Promise<{ status: number; headers: IncomingMessage['headers']; json: { error?: { code: string } } }>((resolve, reject) => {
    req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-firecrawl-signature': signature } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      },
    );
    req.on('error', reject);
  });
  req.write(body.subarray(0, sent));
  if (sent === body.length) req.end();
  return { answer, finish: () => req.end(body.subarray(sent)), abort: () => req.destroy() };
}

const inflight = async (): Promise<number> => (await relay.metrics.ingressInflightBytes.get()).values[0]?.value ?? 0;
/** Jobs the sink got, in order. */
const delivered = (): string[] => recorder.events.map((e) => e.jobId);

beforeEach(async () => {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  recorder = new RecordingSink();
  const registry = registryWith(recorder.definition());
  const yaml = configYaml(
    tmp.dir,
    `
server: { body_limit_bytes: 40000, max_inflight_bytes: 40000, max_inflight_bytes_per_peer: 40000 }
sinks:
  rec: { type: recording }
routes:
  - { name: all, to: [rec] }
`,
  );
  relay = await testRelay(testConfig(yaml, registry), registry);
  url = new URL('/webhooks/firecrawl', await relay.listen(0));
});

afterEach(async () => {
  await relay.close();
  cleanup();
});

describe('server.max_inflight_bytes', () => {
  // Bodies are charged as their bytes arrive (not their declared length): the first holds
  // the 20,000 bytes it sent, and the second is refused once its bytes would pass 40,000.
  it('answers 503 with Retry-After while other bodies fill it, and accepts once they are done', async () => {
    const first = page(25_000, 1);
    const slow = startPost(first.body, first.signature, 20_000);
    await until(async () => (await inflight()) === 20_000);

    const second = page(25_000, 2);
    const refused = await startPost(second.body, second.signature).answer;
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json.error?.code).toBe('RELAY_ERR_INGRESS_BUSY');
    const rejected = (await relay.metrics.eventsRejected.get()).values.find((v) => v.labels.code === 'RELAY_ERR_INGRESS_BUSY');
    expect(rejected?.value).toBe(1);

    slow.finish();
    expect((await slow.answer).status).toBe(200);
    await until(async () => (await inflight()) === 0);
    expect((await startPost(second.body, second.signature).answer).status).toBe(200);
    await until(() => delivered().length === 2);
    expect(delivered()).toEqual(['job-1', 'job-2']);
    // The refused copy was never stored: the retry is not taken for a duplicate.
    expect((await relay.metrics.eventsDuplicate.get()).values[0]?.value ?? 0).toBe(0);
  });

  // A body limit past the budget is refused at load (src/config/load.test.ts): one body always fits.
  it('lets one request through whatever its size, up to the body limit', async () => {
    const large = page(39_000, 3);
    expect(large.body.length).toBeGreaterThan(39_000);
    expect((await startPost(large.body, large.signature).answer).status).toBe(200);
    // The room is given back on the response's 'close', which may follow the client's read.
    await until(async () => (await inflight()) === 0);
  });

  it('gives the room back when a client goes away mid-body', async () => {
    const first = page(25_000, 4);
    const gone = startPost(first.body, first.signature, 1000);
    gone.answer.catch(() => {});
    await until(async () => (await inflight()) === 1000);
    gone.abort();
    await until(async () => (await inflight()) === 0);
    const next = page(25_000, 5);
    expect((await startPost(next.body, next.signature).answer).status).toBe(200);
    await until(() => delivered().length === 1);
    expect(delivered()).toEqual(['job-5']);
  });
});
