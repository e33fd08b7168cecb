import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../relay.js';
import { capturedLogger } from '../../test/helpers/logs.js';
import { tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { sampleEvent } from '../../test/helpers/webhooks.js';

let relay: Relay | undefined;
let cleanup = (): void => {};

async function relayWithSource(source: string, options: Parameters<typeof testRelay>[2] = {}): Promise<Relay> {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  relay = await testRelay(
    testConfig(`
sources:
  selfhosted:
    path: /hooks/selfhosted
${source}
queue: { dir: ${tmp.dir} }
sinks: { out: { type: stdout } }
routes: [{ name: all, to: [out] }]
`),
    undefined,
    options,
  );
  return relay;
}

afterEach(async () => {
  await relay?.close();
  cleanup();
});

const post = (headers: Record<string, string>, url = '/hooks/selfhosted') => ({
  method: 'POST' as const,
  url,
  headers: { 'content-type': 'application/json', 'user-agent': 'axios/1.7.2', ...headers },
  payload: JSON.stringify(sampleEvent('crawl.started')),
});

describe('token auth, for senders that cannot sign', () => {
  const source = '    auth: { header: X-Relay-Token, tokens: [old-token, new-token] }';

  it.each(['old-token', 'new-token'])('accepts the token %s', async (token) => {
    const app = (await relayWithSource(source)).app;
    expect((await app.inject(post({ 'x-relay-token': token }))).statusCode).toBe(200);
  });

  it('rejects a missing token and a wrong token with stable codes', async () => {
    const app = (await relayWithSource(source)).app;
    const missing = await app.inject(post({}));
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error).toEqual({ code: 'RELAY_ERR_INGRESS_TOKEN_MISSING', message: 'expected the x-relay-token header, got none' });
    const wrong = await app.inject(post({ 'x-relay-token': 'new-tokeN' }));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('RELAY_ERR_INGRESS_TOKEN_INVALID');
    expect(wrong.body).not.toContain('new-tokeN');
  });

  it('ignores a signature header: the token is what counts', async () => {
    const app = (await relayWithSource(source)).app;
    const response = await app.inject(post({ 'x-firecrawl-signature': `sha256=${'0'.repeat(64)}` }));
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_TOKEN_MISSING');
  });
});

describe('token auth in a query parameter, for v0 jobs (SELF_HOSTED_WEBHOOK_URL carries no header)', () => {
  const both = '    auth: { header: X-Relay-Token, query: token, tokens: [old-token, new-token] }';
  const queryOnly = '    auth: { query: token, tokens: [new-token] }';

  it.each([both, queryOnly])('accepts the token from ?token= next to other parameters (%s)', async (source) => {
    const app = (await relayWithSource(source)).app;
    const response = await app.inject(post({}, '/hooks/selfhosted?job=a361c628&token=new-token'));
    expect(response.statusCode).toBe(200);
  });

  it('takes the header when it is sent, the query parameter otherwise', async () => {
    const app = (await relayWithSource(both)).app;
    expect((await app.inject(post({ 'x-relay-token': 'old-token' }, '/hooks/selfhosted?token=wrong'))).statusCode).toBe(200);
    const wrongHeader = await app.inject(post({ 'x-relay-token': 'wrong' }, '/hooks/selfhosted?token=new-token'));
    expect(wrongHeader.json().error).toEqual({
      code: 'RELAY_ERR_INGRESS_TOKEN_INVALID',
      message: 'the x-relay-token header holds no token of source "selfhosted"',
    });
  });

  it('rejects a missing, wrong or repeated query token with stable codes, never echoing it', async () => {
    const app = (await relayWithSource(both)).app;
    const missing = await app.inject(post({}, '/hooks/selfhosted?job=1'));
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error).toEqual({
      code: 'RELAY_ERR_INGRESS_TOKEN_MISSING',
      message: 'expected the x-relay-token header or the "token" query parameter, got none',
    });
    const wrong = await app.inject(post({}, '/hooks/selfhosted?token=new-tokeN'));
    expect(wrong.json().error).toEqual({
      code: 'RELAY_ERR_INGRESS_TOKEN_INVALID',
      message: 'the "token" query parameter holds no token of source "selfhosted"',
    });
    expect(wrong.body).not.toContain('new-tokeN');
    const twice = await app.inject(post({}, '/hooks/selfhosted?token=new-token&token=new-token'));
    expect(twice.statusCode).toBe(401);
    expect(twice.json().error).toEqual({
      code: 'RELAY_ERR_INGRESS_TOKEN_REPEATED',
      message: 'expected the "token" query parameter once, got it 2 times',
    });
  });

  // Fastify refuses a path it cannot decode before routing, and its own answer echoes the URL.
  it('answers a path that is not valid percent-encoding with our error, counted, without the query', async () => {
    const relay = await relayWithSource(both);
    const response = await relay.app.inject(post({}, '/x/%zz?token=new-token'));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: { code: 'RELAY_ERR_INGRESS_BAD_REQUEST', message: 'the request could not be read: the path is not valid percent-encoding' },
    });
    const rejected = (await relay.metrics.registry.getSingleMetric('relay_events_rejected_total')?.get())?.values ?? [];
    expect(rejected.map((v) => [v.labels.code, v.value])).toEqual([['RELAY_ERR_INGRESS_BAD_REQUEST', 1]]);
  });

  it('keeps a query token out of every log line, whatever happens to the request', async () => {
    const { logger, lines } = capturedLogger('trace');
    const app = (await relayWithSource(both, { logger })).app;
    const good = 'new-token';
    const wrong = 'wrong-token-7f3a';
    const answers = [
      await app.inject(post({}, `/hooks/selfhosted?token=${good}`)),
      await app.inject(post({}, `/hooks/selfhosted?job=1&token=${wrong}`)),
      await app.inject(post({ 'x-relay-token': wrong }, `/hooks/selfhosted?token=${good}`)),
      await app.inject(post({}, `/elsewhere?token=${good}`)),
      await app.inject({ ...post({}, `/hooks/selfhosted?token=${good}`), payload: '{"success":' }),
      await app.inject({ ...post({ 'content-type': 'text/plain' }, `/hooks/selfhosted?token=${wrong}`) }),
      await app.inject({ method: 'GET', url: `/hooks/selfhosted?token=${good}` }),
      await app.inject(post({}, `/hooks/%zz?token=${wrong}`)),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 401, 404, 400, 415, 404, 400]);
    expect(answers.map((a) => a.body).join('')).not.toMatch(/new-token|wrong-token/);
    // The requests were logged (rejections at info, one line per code: the second wrong token is counted, not written)…
    expect(lines.filter((l) => l.includes('webhook rejected'))).toHaveLength(4);
    // …and no line holds a token, refused or accepted.
    expect(lines.join('')).not.toMatch(/new-token|wrong-token/);
  });
});

describe('auth: none', () => {
  it('accepts an unsigned webhook when written explicitly', async () => {
    const app = (await relayWithSource('    auth: none')).app;
    expect((await app.inject(post({}))).statusCode).toBe(200);
  });
});
