import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors.js';
import { sign } from '../../src/ingress/verify.js';
import type { Relay } from '../../src/relay.js';
import { SECRET, configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { relayEvent, sampleEvent, signedRequest } from '../helpers/webhooks.js';
import { encodePathSegment, MAX_SEGMENT_BYTES, rawWithRelay } from '../../src/plugin-api/index.js';
import { slackMessage } from '../../src/sinks/slack/blocks.js';
import { sqliteOf } from '../helpers/queue.js';

let relay: Relay;
let cleanup: () => void;

beforeAll(async () => {
  const tmp = tempDir('relay-badinput-');
  cleanup = tmp.cleanup;
  relay = await testRelay(
    testConfig(configYaml(tmp.dir, `\nserver: { body_limit_bytes: 262144 }\nsinks: { out: { type: stdout } }\nroutes: [{ name: all, to: [out] }]\n`)),
  );
});

afterAll(async () => {
  await relay.close();
  cleanup();
});

const stored = (): number => (sqliteOf(relay).prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
const CODES = new Set(Object.keys(ERRORS));
let validSeq = 0;

/** After any rejected request: a stable 4xx code, nothing stored, and a valid event still accepted. */
async function expectRejectedThenHealthy(response: { statusCode: number; json: () => any }, before: number): Promise<void> {
  expect(response.statusCode).toBeGreaterThanOrEqual(400);
  expect(response.statusCode).toBeLessThan(500);
  expect(CODES.has(response.json().error.code)).toBe(true);
  expect(stored()).toBe(before);
  const valid = await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { id: `after-${validSeq++}` })));
  expect(valid.statusCode).toBe(200);
}

const body = JSON.stringify(sampleEvent('crawl.page'));
const nested = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

// A body that stalls is cut off with 408 RELAY_ERR_INGRESS_TIMEOUT, nothing stored and the next
// webhook taken: test/reliability/slow-senders.test.ts ("cuts off a body that stalls…").
describe('bad input corpus', () => {
  const corpus: Array<{ name: string; headers?: Record<string, string | string[]>; payload: string | Buffer }> = [
    { name: 'wrong signature', headers: { 'x-firecrawl-signature': sign('nope', body) }, payload: body },
    { name: 'missing signature', headers: { 'x-firecrawl-signature': '' }, payload: body },
    { name: 'duplicated signature headers', headers: { 'x-firecrawl-signature': [sign(SECRET, body), sign('x', body)] }, payload: body },
    { name: 'signature with trailing garbage', headers: { 'x-firecrawl-signature': `${sign(SECRET, body)}00` }, payload: body },
    { name: 'signature of a truncated body', headers: { 'x-firecrawl-signature': sign(SECRET, body.slice(0, 100)) }, payload: body },
    { name: 'truncated body, signed', payload: body.slice(0, body.length - 7) },
    { name: 'oversized body, signed', payload: `{"x":"${'y'.repeat(300_000)}"}` },
    { name: 'invalid UTF-8, signed', payload: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
    { name: 'lone surrogate escapes are still JSON', payload: '{"success":true,"type":"crawl.page","id":"\\ud800","data":"x"}' },
    { name: 'deep nesting, signed', payload: nested(100_000) },
    { name: '__proto__ key, signed', payload: '{"success":true,"type":"crawl.page","id":"j","data":[],"__proto__":{"x":1}}' },
    { name: 'constructor.prototype key, signed', payload: '{"success":true,"type":"crawl.page","id":"j","data":[{"constructor":{"prototype":{"x":1}}}]}' },
    { name: 'escaped __proto__ key, signed', payload: '{"success":true,"type":"crawl.page","id":"j","data":[],"metadata":{"\\u005f_proto__":{"x":1}}}' },
    { name: 'escaped constructor.prototype key, signed', payload: '{"success":true,"type":"crawl.page","id":"j","data":[{"\\u0063onstructor":{"prototype":{"x":1}}}]}' },
    { name: 'form content type', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' },
    { name: 'no content type', headers: { 'content-type': '' }, payload: body },
    { name: 'type with spaces', payload: JSON.stringify({ success: true, type: 'crawl page', id: 'j', data: [] }) },
    { name: 'id that is a number', payload: JSON.stringify({ success: true, type: 'crawl.page', id: 42, data: [] }) },
  ];

  it.each(corpus)('$name: a stable 4xx, nothing stored, the next valid event accepted', async ({ headers, payload }) => {
    const before = stored();
    const signed = signedRequest(payload);
    const response = await relay.app.inject({ ...signed, headers: { ...signed.headers, ...headers } });
    await expectRejectedThenHealthy(response, before);
  });

  it('headers over 16 KiB on a real socket: 431 with a stable code, nothing stored', async () => {
    const address = await relay.app.listen({ host: '127.0.0.1', port: 0 });
    const before = stored();
    const response = await fetch(new URL('/webhooks/firecrawl', address), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-firecrawl-signature': sign(SECRET, body), 'x-filler': 'z'.repeat(60_000) },
      body,
    });
    expect(response.status).toBe(431);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RELAY_ERR_INGRESS_HEADERS_TOO_LARGE');
    expect(stored()).toBe(before);
    expect((await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { id: 'after-huge' })))).statusCode).toBe(200);
  });
});

describe('property-based fuzzing of the ingress', () => {
  it('answers arbitrary signed JSON with 200 or a stable 400, and stores only what it accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const before = stored();
        const response = await relay.app.inject(signedRequest(JSON.stringify(value)));
        if (response.statusCode === 200) {
          expect(stored() - before).toBeLessThanOrEqual(1);
        } else {
          expect(response.statusCode).toBe(400);
          expect(CODES.has(response.json().error.code)).toBe(true);
          expect(stored()).toBe(before);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('accepts every well-formed envelope, whatever its fields hold', async () => {
    // Keys that could pollute prototypes are refused on purpose (see the corpus): not generated here.
    const safe = (value: unknown): boolean => !/"(__proto__|constructor)"/.test(JSON.stringify(value));
    const envelope = fc.record({
      success: fc.boolean(),
      type: fc.stringMatching(/^[a-z_]{1,12}\.[a-z_]{1,12}$/),
      id: fc.string({ minLength: 1, maxLength: 40 }),
      data: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }))),
      metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string()),
    }).filter(safe);
    await fc.assert(
      fc.asyncProperty(envelope, async (event) => {
        const response = await relay.app.inject(signedRequest(JSON.stringify(event)));
        expect(response.statusCode, response.body).toBe(200);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects random bytes with a random signature without storing anything', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 80 }), async (bytes, signature) => {
        const before = stored();
        const response = await relay.app.inject({
          method: 'POST',
          url: '/webhooks/firecrawl',
          headers: { 'content-type': 'application/json', 'x-firecrawl-signature': signature.replace(/[^\x20-\x7e]/g, '') },
          payload: Buffer.from(bytes),
        });
        expect(response.statusCode).toBe(401);
        expect(stored()).toBe(before);
      }),
      { numRuns: 300 },
    );
  });

  /** `text` with each character, at random, written as a \\u escape. */
  const escaped = (text: string) =>
    fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((flags) =>
      [...text].map((c, i) => (flags[i] ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join(''),
    );

  it('refuses __proto__ and constructor.prototype keys however they are escaped, wherever they are', async () => {
    const unsafe = fc.oneof(
      escaped('__proto__').map((key) => `"${key}":{"polluted":1}`),
      fc.tuple(escaped('constructor'), escaped('prototype')).map(([c, p]) => `"${c}":{"${p}":{"polluted":1}}`),
    );
    const place = fc.constantFrom(
      (pair: string) => `{"success":true,"type":"crawl.page","id":"j",${pair},"data":[]}`,
      (pair: string) => `{"success":true,"type":"crawl.page","id":"j","data":[{"metadata":{${pair}}}]}`,
      (pair: string) => `{"success":true,"type":"crawl.page","id":"j","data":[],"metadata":{"a":[{${pair}}]}}`,
    );
    await fc.assert(
      fc.asyncProperty(unsafe, place, async (pair, wrap) => {
        const before = stored();
        const response = await relay.app.inject(signedRequest(wrap(pair)));
        expect(response.statusCode, wrap(pair)).toBe(400);
        expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_BODY_UNSAFE_KEY');
        expect(stored()).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  // This file's relay never starts delivery: every accepted row is still there to read.
  it('takes a BOM followed by a valid envelope (200) and stores, for every sink, the bytes after the BOM', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), async (id) => {
        const json = Buffer.from(JSON.stringify({ success: true, type: 'crawl.completed', id, data: [] }));
        const response = await relay.app.inject(signedRequest(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json])));
        expect(response.statusCode, response.body).toBe(200);
        const { event_id } = response.json() as { event_id: string };
        const row = sqliteOf(relay).prepare('SELECT body FROM events WHERE id = ?').get(event_id) as { body: Buffer };
        expect(row.body.equals(json)).toBe(true);
        expect(JSON.parse(rawWithRelay(row.body, { source: 'x' })).id).toBe(id);
      }),
      { numRuns: 100 },
    );
  });

  it('accepts long and non-ASCII job ids, and names their folder with one safe, distinct segment', async () => {
    const ids = fc.string({ unit: fc.oneof(fc.constantFrom('.', '/', '%', '~', '\\', '\u0000', 'é', '😀'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 500 });
    // A NUL in an id is refused at the envelope (400: the PostgreSQL queue stores ids as text);
    // the posted id goes without, the folder names are still checked with it.
    const posted = ids.map((id) => id.replace(/\u0000/g, '\u0001'));
    await fc.assert(
      fc.asyncProperty(posted, ids, async (a, b) => {
        const response = await relay.app.inject(signedRequest({ success: true, type: 'crawl.completed', id: a, data: [] }));
        expect(response.statusCode, response.body).toBe(200);
        for (const id of [a, b]) {
          const segment = encodePathSegment(id);
          expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
          expect(segment).not.toMatch(/^\.|[/\\\u0000]/);
        }
        if (a !== b) expect(encodePathSegment(a)).not.toBe(encodePathSegment(b));
      }),
      { numRuns: 150 },
    );
  });

  it('never lets Slack markup from payload strings through as a link or mention', async () => {
    const markup = fc.constantFrom('<!channel>', '<!here>', '<@U123>', '<#C1>', '<https://evil.example/a|Your account is locked>', '<mailto:x@y|z>', '&lt;!channel&gt;');
    const text = fc.tuple(fc.string({ maxLength: 10 }), markup, fc.string({ maxLength: 10 })).map(([a, m, b]) => `${a}${m}${b}`);
    const url = fc.oneof(text, fc.webUrl().map((u) => `${u}|Click>`), fc.webUrl());
    const event = fc.record({ type: fc.constantFrom('crawl.page', 'crawl.failed', 'monitor.page', 'monitor.check.completed', 'batch_scrape.completed'), id: text, error: text, url, title: text, reason: text, diff: text });
    await fc.assert(
      fc.property(event, (e) => {
        const message = slackMessage(
          relayEvent({
            success: !e.type.endsWith('failed'),
            type: e.type,
            id: e.id,
            error: e.error,
            data: [{ url: e.url, status: 'changed', error: e.error, judgment: { meaningful: true, reason: e.reason }, diff: { text: e.diff }, metadata: { url: e.url, title: e.title, statusCode: 500 }, summary: {} }],
          }),
          ['changed'],
        );
        const texts = [message!.text, ...message!.blocks.flatMap((b: any) => (b.type === 'header' ? [] : [b.text?.text, ...(b.elements ?? []).map((x: any) => x.text)]))].filter(Boolean) as string[];
        for (const live of texts.flatMap((t) => t.match(/<[^<>]*>/g) ?? [])) {
          // The only markup left is a link the relay formatted: an http(s) URL, no label of the sender's.
          expect(live).toMatch(/^<https?:\/\/[^|<> ]+(\|Open the page)?>$/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
