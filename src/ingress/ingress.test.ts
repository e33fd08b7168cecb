import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from './verify.js';
import { KNOWN_EVENT_TYPES } from '../routing/event-types.js';
import type { Relay } from '../relay.js';
import { SECOND_SECRET, SECRET, configYaml, registryWith, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { RecordingSink, until } from '../../test/helpers/sinks.js';
import { sampleEvent, sampleTypes, signedRequest } from '../../test/helpers/webhooks.js';
import { sqliteOf } from '../../test/helpers/queue.js';

const PAGE = sampleEvent('crawl.page');
const BODY = JSON.stringify(PAGE);

let relay: Relay;
let cleanup: () => void;
let recorder: RecordingSink;

function stored(): { events: number; deliveries: number } {
  const db = sqliteOf(relay);
  return {
    events: (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
    deliveries: (db.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n,
  };
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const found = (await relay.metrics.registry.getSingleMetric(name)?.get())?.values.find((v) =>
    Object.entries(labels).every(([k, value]) => v.labels[k] === value),
  );
  return found?.value ?? 0;
}

beforeEach(async () => {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  recorder = new RecordingSink();
  const registry = registryWith(recorder.definition());
  const config = testConfig(
    configYaml(
      tmp.dir,
      `
server: { body_limit_bytes: 65536 }
sinks:
  rec: { type: recording }
routes:
  - { name: all, match: { type: "*" }, to: [rec] }
`,
    ),
    registry,
  );
  // Delivery is not started: these tests look at what the ingress stored.
  relay = await testRelay(config, registry);
});

afterEach(async () => {
  await relay.close();
  cleanup();
});

describe('signature verification', () => {
  const cases: Array<{ name: string; headers: Record<string, string>; body?: string; status: number; code?: string }> = [
    { name: 'accepts a body signed with the secret', headers: { 'x-firecrawl-signature': sign(SECRET, BODY) }, status: 200 },
    {
      name: 'accepts a body signed with the second (rotated) secret',
      headers: { 'x-firecrawl-signature': sign(SECOND_SECRET, BODY) },
      status: 200,
    },
    {
      name: 'accepts upper-case hex digits',
      headers: { 'x-firecrawl-signature': `sha256=${sign(SECRET, BODY).slice(7).toUpperCase()}` },
      status: 200,
    },
    {
      name: 'rejects a body signed with another secret',
      headers: { 'x-firecrawl-signature': sign('another-secret', BODY) },
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MISMATCH',
    },
    { name: 'rejects a request without signature header', headers: {}, status: 401, code: 'RELAY_ERR_INGRESS_SIGNATURE_MISSING' },
    {
      name: 'rejects a sha1= signature',
      headers: { 'x-firecrawl-signature': `sha1=${'a'.repeat(40)}` },
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MALFORMED',
    },
    {
      name: 'rejects a signature that is not hex',
      headers: { 'x-firecrawl-signature': `sha256=${'z'.repeat(64)}` },
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MALFORMED',
    },
    {
      name: 'rejects a bare hex digest without scheme',
      headers: { 'x-firecrawl-signature': sign(SECRET, BODY).slice(7) },
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MALFORMED',
    },
    {
      name: 'rejects a truncated digest',
      headers: { 'x-firecrawl-signature': sign(SECRET, BODY).slice(0, -2) },
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MALFORMED',
    },
    {
      name: 'rejects an empty body whatever its signature',
      headers: { 'x-firecrawl-signature': sign('another-secret', '') },
      body: '',
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MISMATCH',
    },
    {
      name: 'answers 400 to an empty body correctly signed',
      headers: { 'x-firecrawl-signature': sign(SECRET, '') },
      body: '',
      status: 400,
      code: 'RELAY_ERR_INGRESS_BODY_NOT_JSON',
    },
    {
      name: 'rejects a body changed by one byte after signing',
      headers: { 'x-firecrawl-signature': sign(SECRET, BODY) },
      body: BODY.replace('Page Title', 'Page Titlf'),
      status: 401,
      code: 'RELAY_ERR_INGRESS_SIGNATURE_MISMATCH',
    },
  ];

  it.each(cases)('$name', async ({ headers, body, status, code }) => {
    const response = await relay.app.inject({
      method: 'POST',
      url: '/webhooks/firecrawl',
      headers: { 'content-type': 'application/json', ...headers },
      payload: body ?? BODY,
    });
    expect(response.statusCode).toBe(status);
    if (code) {
      expect(response.json().error.code).toBe(code);
      expect(stored()).toEqual({ events: 0, deliveries: 0 });
      expect(await metric('relay_events_rejected_total', { code })).toBe(1);
    } else {
      expect(response.json()).toMatchObject({ ok: true, duplicate: false, deliveries: 1 });
      expect(stored()).toEqual({ events: 1, deliveries: 1 });
    }
  });

  it('rejects a signature header sent twice', async () => {
    const response = await relay.app.inject({
      method: 'POST',
      url: '/webhooks/firecrawl',
      headers: { 'content-type': 'application/json', 'x-firecrawl-signature': [sign(SECRET, BODY), sign(SECRET, BODY)] },
      payload: BODY,
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_SIGNATURE_MALFORMED');
  });

  it('never echoes the signature it was sent', async () => {
    const signature = `sha256=${'x'.repeat(64)}`;
    const response = await relay.app.inject({
      method: 'POST',
      url: '/webhooks/firecrawl',
      headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature },
      payload: BODY,
    });
    expect(response.body).not.toContain('x'.repeat(64));
  });
});

describe('body and envelope', () => {
  it('accepts every documented sample', async () => {
    const types = sampleTypes();
    expect(types).toEqual([...KNOWN_EVENT_TYPES].sort()); // one sample per documented type
    for (const type of types) {
      const response = await relay.app.inject(signedRequest(sampleEvent(type)));
      expect(response.statusCode, type).toBe(200);
      expect(response.json().duplicate, type).toBe(false);
    }
    expect(stored().events).toBe(types.length);
  });

  it('accepts a failed page (success: false on *.page)', async () => {
    const failed = sampleEvent('crawl.page', { success: false, error: 'Page timed out' });
    const response = await relay.app.inject(signedRequest(failed));
    expect(response.statusCode).toBe(200);
  });

  // A failed v0 page of self-hosted Firecrawl serialises an Error object: `"error": {}`.
  it.each([{}, { message: 'timeout', code: 408 }, ['a'], 42, null, 'Page timed out'])('accepts any JSON in error: %j', async (error) => {
    const { id, ...legacy } = sampleEvent('crawl.page', { success: false, error });
    const response = await relay.app.inject(signedRequest({ ...legacy, jobId: id }));
    expect(response.statusCode).toBe(200);
    expect(stored()).toEqual({ events: 1, deliveries: 1 });
  });

  // Accepted, it would break the file and stdout sinks later ("Maximum call stack size exceeded").
  it('refuses a body nested deeper than 64 levels before storing it', async () => {
    const { id, ...legacy } = sampleEvent('crawl.page', { success: false });
    const text = JSON.stringify({ ...legacy, jobId: id, error: 'DEEP' }).replace('"DEEP"', `${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    const response = await relay.app.inject(signedRequest(text));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toEqual({ code: 'RELAY_ERR_INGRESS_BODY_TOO_DEEP', message: 'expected JSON nested at most 64 levels deep, got deeper' });
    expect(stored()).toEqual({ events: 0, deliveries: 0 });
  });

  it('accepts the legacy v0 jobId in place of id and stores it as the job', async () => {
    const { id, ...legacy } = sampleEvent('crawl.completed');
    const response = await relay.app.inject(signedRequest({ ...legacy, jobId: 'legacy-job-1' }));
    expect(response.statusCode).toBe(200);
    const row = sqliteOf(relay).prepare('SELECT job_id FROM events').get() as { job_id: string };
    expect(row.job_id).toBe('legacy-job-1');
    expect(id).toBeDefined();
  });

  it('accepts and counts an event type Firecrawl does not document yet', async () => {
    const response = await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { type: 'crawl.paused' })));
    expect(response.statusCode).toBe(200);
    expect(response.json().deliveries).toBe(1);
    expect(await metric('relay_events_unknown_type_total', { source: 'firecrawl' })).toBe(1);
    expect(await metric('relay_events_received_total', { type: 'other' })).toBe(1);
  });

  const invalid: Array<{ name: string; body: string; code: string }> = [
    { name: 'invalid JSON', body: '{"success": true,', code: 'RELAY_ERR_INGRESS_BODY_NOT_JSON' },
    { name: 'a JSON array', body: '[1,2]', code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID' },
    { name: 'no type', body: JSON.stringify({ success: true, id: 'j', data: [] }), code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID' },
    { name: 'no id nor jobId', body: JSON.stringify({ success: true, type: 'crawl.page', data: [] }), code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID' },
    {
      name: 'success as a string',
      body: JSON.stringify({ success: 'yes', type: 'crawl.page', id: 'j', data: [] }),
      code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID',
    },
    {
      name: 'data as a string',
      body: JSON.stringify({ success: true, type: 'crawl.page', id: 'j', data: 'x' }),
      code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID',
    },
    {
      name: 'a __proto__ key',
      body: '{"success":true,"type":"crawl.page","id":"j","data":[],"metadata":{"__proto__":{"polluted":1}}}',
      code: 'RELAY_ERR_INGRESS_BODY_UNSAFE_KEY',
    },
  ];
  it.each(invalid)('answers 400 to $name', async ({ body, code }) => {
    const response = await relay.app.inject(signedRequest(body));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
    expect(stored().events).toBe(0);
  });

  // Issue 12 item 2: the BOM was stripped to check the body, then stored; the delivery's
  // parse failed and took its whole batch to the dead letters.
  it('accepts a body with a UTF-8 BOM (signed as sent), stores it without the BOM, and delivers it', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(sampleEvent('crawl.page', { id: 'bom-job' })))]);
    expect((await relay.app.inject(signedRequest(body))).statusCode).toBe(200);
    void relay.startDelivery();
    await until(() => recorder.events.length === 1);
    const [event] = recorder.events;
    expect(event!.raw.subarray(0, 1).toString()).toBe('{');
    expect(event!.payload.id).toBe('bom-job');
    expect(event!.jobId).toBe('bom-job');
  });

  // Issue 12 follow-up: TextDecoder dropped a second BOM silently, so one stayed in the stored body.
  it('answers 400 to a body starting with two BOMs: exactly one is stripped', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const body = Buffer.concat([bom, bom, Buffer.from(JSON.stringify(sampleEvent('crawl.page', { id: 'bom2-job' })))]);
    const response = await relay.app.inject(signedRequest(body));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_BODY_NOT_JSON');
    expect(stored().events).toBe(0);
  });

  // Issue 12 follow-up: "\ud800" is valid JSON; SQLite stored the lone surrogate as ED A0 80 and
  // read back U+FFFD, so the lane settled another job id and later events were never delivered.
  it.each([
    ['id', '{"success":true,"type":"crawl.page","id":"\\ud800surr","data":[]}'],
    ['jobId', '{"success":true,"type":"crawl.page","jobId":"surr\\udfff","data":[]}'],
    ['webhookId', '{"success":true,"type":"crawl.page","id":"j","webhookId":"w\\ud800","data":[]}'],
  ])('answers 400 to a lone UTF-16 surrogate in %s and stores nothing', async (field, body) => {
    const response = await relay.app.inject(signedRequest(body));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_STRING_NOT_UNICODE');
    expect(response.json().error.message).toContain(`"${field}"`);
    expect(stored().events).toBe(0);
  });

  it('accepts a job id with a surrogate pair (an emoji) and stores it as sent', async () => {
    const response = await relay.app.inject(signedRequest('{"success":true,"type":"crawl.page","id":"job-\\ud83d\\ude00","data":[]}'));
    expect(response.statusCode).toBe(200);
    const row = sqliteOf(relay).prepare('SELECT job_id FROM events').get() as { job_id: string };
    expect(row.job_id).toBe('job-\u{1F600}');
  });

  // Issue 12 item 7: ingress defaulted metadata to {}, the delivery's own parse did not.
  it('hands sinks the payload as ingress normalised it: metadata {} and id from a legacy jobId', async () => {
    const { id: _id, metadata: _metadata, ...bare } = sampleEvent('crawl.completed');
    expect((await relay.app.inject(signedRequest({ ...bare, jobId: 'legacy-2' }))).statusCode).toBe(200);
    void relay.startDelivery();
    await until(() => recorder.events.length === 1);
    expect(recorder.events[0]!.payload.metadata).toEqual({});
    expect(recorder.events[0]!.payload.id).toBe('legacy-2');
    // The fields as sent, in their order, then the ones filled in.
    expect(Object.keys(recorder.events[0]!.payload)).toEqual([...Object.keys(bare), 'jobId', 'id', 'metadata']);
  });

  it('keeps the fields of a payload in the order they were sent, id and metadata in their place', async () => {
    const body = '{"metadata":null,"type":"crawl.page","id":"job-7","success":true,"data":[]}';
    expect((await relay.app.inject(signedRequest(body))).statusCode).toBe(200);
    void relay.startDelivery();
    await until(() => recorder.events.length === 1);
    expect(Object.keys(recorder.events[0]!.payload)).toEqual(['metadata', 'type', 'id', 'success', 'data']);
    expect(recorder.events[0]!.payload.metadata).toEqual({});
  });

  it('answers 400 to invalid UTF-8', async () => {
    const body = Buffer.concat([Buffer.from('{"success":true,"type":"crawl.page","id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","data":[]}')]);
    const response = await relay.app.inject(signedRequest(body));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_BODY_NOT_UTF8');
  });

  it('answers 413 to a body over the limit', async () => {
    const big = sampleEvent('crawl.page', { data: [{ markdown: 'x'.repeat(70_000) }] });
    const response = await relay.app.inject(signedRequest(big));
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_BODY_TOO_LARGE');
    expect(stored().events).toBe(0);
  });

  it('answers 413 to a body without a Content-Length once its bytes pass the limit', async () => {
    const big = signedRequest(sampleEvent('crawl.page', { data: [{ markdown: 'x'.repeat(70_000) }] }));
    const chunks = Readable.from([Buffer.from(big.payload).subarray(0, 40_000), Buffer.from(big.payload).subarray(40_000)]);
    const response = await relay.app.inject({ ...big, payload: chunks });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_BODY_TOO_LARGE');
    expect(stored().events).toBe(0);
  });

  it('answers 400 to a body whose length is not its Content-Length', async () => {
    const request = signedRequest(BODY);
    const response = await relay.app.inject({ ...request, headers: { ...request.headers, 'content-length': String(BODY.length - 1) } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'RELAY_ERR_INGRESS_BAD_REQUEST', message: expect.stringContaining('FST_ERR_CTP_INVALID_CONTENT_LENGTH') });
    expect(stored().events).toBe(0);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded'])('answers 415 to Content-Type %s', async (type) => {
    const request = signedRequest(BODY);
    const response = await relay.app.inject({ ...request, headers: { ...request.headers, 'content-type': type } });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_MEDIA_TYPE');
    expect(response.json().error.message).toContain(type);
  });

  it.each(['application/json; charset=utf-8', 'application/cloudevents+json; charset=utf-8', 'Application/JSON;charset=UTF-8'])(
    'accepts %s: the media type is compared without its parameters',
    async (type) => {
      const request = signedRequest(BODY);
      const response = await relay.app.inject({ ...request, headers: { ...request.headers, 'content-type': type } });
      expect(response.statusCode, response.body).toBe(200);
    },
  );

  it('answers 404 with a code on a path no source listens on', async () => {
    const response = await relay.app.inject(signedRequest(BODY, SECRET, '/elsewhere'));
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_NOT_FOUND');
  });
});

describe('dedupe', () => {
  const MONITOR = sampleEvent('monitor.page');

  /** Replaces the relay of beforeEach with one whose source dedupes as `mode` says. */
  async function withDedupe(mode: string): Promise<void> {
    await relay.close();
    const tmp = tempDir();
    const previous = cleanup;
    cleanup = () => (previous(), tmp.cleanup());
    const registry = registryWith(recorder.definition());
    const yaml = `
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: ["${SECRET}"], dedupe: ${mode} }
queue: { dir: ${tmp.dir} }
sinks: { rec: { type: recording } }
routes: [{ name: all, to: [rec] }]
`;
    relay = await testRelay(testConfig(yaml, registry), registry);
  }

  it('acknowledges a resent webhookId without storing it again', async () => {
    const first = await relay.app.inject(signedRequest(MONITOR));
    const second = await relay.app.inject(signedRequest(MONITOR));
    expect(first.json()).toMatchObject({ ok: true, duplicate: false });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ ok: true, duplicate: true, deliveries: 0 });
    expect(stored()).toEqual({ events: 1, deliveries: 1 });
    expect(await metric('relay_events_duplicate_total', { source: 'firecrawl' })).toBe(1);
  });

  it('keys on webhookId when present, even if the bytes differ', async () => {
    const b = { ...MONITOR, metadata: { environment: 'retried' } };
    expect((await relay.app.inject(signedRequest(MONITOR))).json().duplicate).toBe(false);
    expect((await relay.app.inject(signedRequest(b))).json().duplicate).toBe(true);
    const c = { ...MONITOR, webhookId: 'another-delivery' };
    expect((await relay.app.inject(signedRequest(c))).json().duplicate).toBe(false);
  });

  // Self-hosted Firecrawl sends no webhookId, and a batch scrape with appendToId sends a
  // second batch_scrape.started whose bytes equal the first: both are real events.
  it('stores two identical bodies without webhookId as two events by default', async () => {
    const started = JSON.stringify(sampleEvent('batch_scrape.started'));
    const answers = [await relay.app.inject(signedRequest(started)), await relay.app.inject(signedRequest(started))];
    expect(answers.map((a) => a.json().duplicate)).toEqual([false, false]);
    expect(stored()).toEqual({ events: 2, deliveries: 2 });
    expect(await metric('relay_events_duplicate_total', { source: 'firecrawl' })).toBe(0);
  });

  it('drops an identical body without webhookId with dedupe: body', async () => {
    await withDedupe('body');
    const first = await relay.app.inject(signedRequest(BODY));
    const second = await relay.app.inject(signedRequest(BODY));
    expect([first.json().duplicate, second.json().duplicate]).toEqual([false, true]);
    expect((await relay.app.inject(signedRequest(MONITOR))).json().duplicate).toBe(false);
    expect((await relay.app.inject(signedRequest({ ...MONITOR, metadata: { environment: 'retried' } }))).json().duplicate).toBe(true);
    expect(stored().events).toBe(2);
  });

  it.each(['none', 'false'])('stores a resent webhookId again with dedupe: %s', async (mode) => {
    await withDedupe(mode);
    await relay.app.inject(signedRequest(MONITOR));
    expect((await relay.app.inject(signedRequest(MONITOR))).json().duplicate).toBe(false);
    expect(stored().events).toBe(2);
  });

  // The envelope accepts any JSON in the fields it does not route on; only a non-empty
  // string is a webhookId.
  it.each([null, 42, { id: 'w-1' }, ''])('accepts webhookId %j and dedupes as if it were absent', async (webhookId) => {
    const body = JSON.stringify({ ...PAGE, webhookId });
    const byDefault = [await relay.app.inject(signedRequest(body)), await relay.app.inject(signedRequest(body))];
    expect(byDefault.map((a) => [a.statusCode, a.json().duplicate])).toEqual([[200, false], [200, false]]);
    await withDedupe('body');
    const byBody = [await relay.app.inject(signedRequest(body)), await relay.app.inject(signedRequest(body))];
    expect(byBody.map((a) => [a.statusCode, a.json().duplicate])).toEqual([[200, false], [200, true]]);
  });

  it('refuses a webhookId string over 500 characters', async () => {
    const response = await relay.app.inject(signedRequest({ ...MONITOR, webhookId: 'w'.repeat(501) }));
    expect(response.json().error).toEqual({
      code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID',
      message: 'expected a Firecrawl webhook envelope: "webhookId" must NOT have more than 500 characters',
    });
  });

  it('treats two different bodies as two events', async () => {
    await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'job-a' })));
    await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'job-b' })));
    expect(stored().events).toBe(2);
  });

  it('answers concurrent copies of one webhookId with exactly one stored event', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => relay.app.inject(signedRequest(MONITOR))));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    expect(answers.filter((a) => a.json().duplicate === false)).toHaveLength(1);
    expect(stored().events).toBe(1);
  });
});

describe('readiness and health', () => {
  it('answers /healthz', async () => {
    const response = await relay.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
  });
});
