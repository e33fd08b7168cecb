import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { REDACT_PATHS } from './logger.js';
import type { Relay } from './relay.js';
import { SECRET, configYaml, registryWith, tempDir, testConfig, testRelay } from '../test/helpers/relay.js';
import { RecordingSink, until } from '../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../test/helpers/webhooks.js';
import { sqliteOf, pendingOf } from '../test/helpers/queue.js';

let relay: Relay | undefined;
let cleanup = (): void => {};

afterEach(async () => {
  await relay?.close(100);
  relay = undefined;
  cleanup();
});

async function relayWith(body: string, sinks: Record<string, RecordingSink>, options: Parameters<typeof testRelay>[2] = {}) {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  const registry = registryWith(...Object.entries(sinks).map(([type, sink]) => sink.definition(type)));
  relay = await testRelay(testConfig(configYaml(tmp.dir, body), registry), registry, options);
  return relay;
}

describe('delivery through the relay', () => {
  it('fans an event out to each matching sink once, and a hung sink delays only itself', async () => {
    const fast = new RecordingSink();
    const hung = new RecordingSink();
    hung.behaviour = () => new Promise(() => {});
    const r = await relayWith(
      `
sinks:
  fast: { type: fast }
  hung: { type: hung, write_timeout_ms: 60000 }
routes:
  - { name: pages, match: { type: "*.page" }, to: [fast, hung] }
  - { name: all, match: {}, to: [fast] }
`,
      { fast, hung },
    );
    r.startDelivery();
    for (let i = 0; i < 5; i++) {
      expect((await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: `job-${i}` })))).json().deliveries).toBe(2);
    }
    await until(() => fast.events.length === 5);
    expect(fast.events.map((e) => e.jobId)).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(hung.events).toHaveLength(0);
    expect(pendingOf(r, 'hung')).toBe(5);
    expect(pendingOf(r, 'fast')).toBe(0);
  });

  it('acknowledges and counts an event that matches no route, and stores nothing', async () => {
    const sink = new RecordingSink();
    const r = await relayWith(
      `
sinks: { only: { type: only } }
routes: [{ name: failures, match: { success: false }, to: [only] }]
`,
      { only: sink },
    );
    const answer = await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    expect(answer.json()).toMatchObject({ ok: true, event_id: null, deliveries: 0 });
    const metric = await r.metrics.eventsUnrouted.get();
    expect(metric.values[0]?.value).toBe(1);
    expect((sqliteOf(r).prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(0);
  });

  it('answers 503 RELAY_ERR_QUEUE_FULL once the queue is at max_bytes, and stores nothing more', async () => {
    const sink = new RecordingSink();
    const r = await relayWith(
      `
queue: { max_bytes: 1048576 }
sinks: { s: { type: s } }
routes: [{ name: all, to: [s] }]
`.replace('queue: { max_bytes: 1048576 }', ''),
      { s: sink },
    );
    // The helper's queue map is fixed, so set the bound on the live queue.
    (r.queue as unknown as { maxBytes: number }).maxBytes = 1 << 20;
    let status = 200;
    let code: string | undefined;
    for (let i = 0; i < 200 && status === 200; i++) {
      const big = sampleEvent('crawl.page', { id: `job-${i}`, data: [{ markdown: 'x'.repeat(20_000) }] });
      const answer = await r.app.inject(signedRequest(big));
      status = answer.statusCode;
      code = answer.json().error?.code;
    }
    expect(status).toBe(503);
    expect(code).toBe('RELAY_ERR_QUEUE_FULL');
  });

  it('answers 503 RELAY_ERR_QUEUE_UNAVAILABLE when the event cannot be written', async () => {
    const sink = new RecordingSink();
    const r = await relayWith(`\nsinks: { s: { type: s } }\nroutes: [{ name: all, to: [s] }]\n`, { s: sink });
    sqliteOf(r).exec(`CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`);
    const answer = await r.app.inject(signedRequest(sampleEvent('crawl.page')));
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error.code).toBe('RELAY_ERR_QUEUE_UNAVAILABLE');
  });
});

describe('logs', () => {
  it('hold no secret, signature, token or payload, whatever is rejected or accepted', async () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, capture);
    const sink = new RecordingSink();
    sink.behaviour = (_batch, call) => {
      if (call === 0) throw new Error('destination refused');
    };
    const r = await relayWith(`\nsinks: { s: { type: s, retry: { initial_delay_ms: 10 } } }\nroutes: [{ name: all, to: [s] }]\n`, { s: sink }, { logger });
    r.startDelivery();
    const marker = 'PAYLOAD-MARKER-do-not-log';
    const event = sampleEvent('crawl.page', { data: [{ markdown: marker, metadata: { url: 'https://e.com' } }] });
    const good = signedRequest(event);
    const forged = signedRequest(event, 'another-secret');
    await r.app.inject(good);
    await r.app.inject(forged);
    await r.app.inject({ ...good, payload: `${String(good.payload)}x` });
    await r.app.inject({ ...good, headers: { ...good.headers, 'content-type': 'text/plain' } });
    await until(() => sink.calls >= 2 && sink.events.length === 1);
    const text = lines.join('');
    expect(text).toContain('webhook rejected');
    expect(text).toContain('delivery failed');
    for (const secret of [SECRET, marker, good.headers['x-firecrawl-signature'].slice(7), forged.headers['x-firecrawl-signature'].slice(7)]) {
      expect(text).not.toContain(secret);
    }
  });
});
