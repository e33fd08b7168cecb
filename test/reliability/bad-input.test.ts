import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors.js';
import { sign } from '../../src/ingress/verify.js';
import type { Relay } from '../../src/relay.js';
import { SECRET, configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { sampleEvent, signedRequest } from '../helpers/webhooks.js';
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

  it('a slow body that never finishes is cut off without storing anything', async () => {
    const { request } = await import('node:http');
    const address = relay.app.server.listening ? `http://127.0.0.1:${(relay.app.server.address() as { port: number }).port}` : await relay.app.listen({ host: '127.0.0.1', port: 0 });
    const before = stored();
    const url = new URL('/webhooks/firecrawl', address);
    const status = await new Promise<number | string>((resolve) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000', 'x-firecrawl-signature': sign(SECRET, body) } });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
      req.write('{"success":');
      setTimeout(() => req.destroy(), 300);
    });
    expect(['ECONNRESET', 'socket hang up', 'error', 400]).toContain(status);
    expect(stored()).toBe(before);
    const valid = await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { id: 'after-slow' })));
    expect(valid.statusCode).toBe(200);
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
});
