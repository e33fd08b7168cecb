import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../relay.js';
import { tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { sampleEvent } from '../../test/helpers/webhooks.js';

let relay: Relay | undefined;
let cleanup = (): void => {};

async function relayWithSource(source: string): Promise<Relay> {
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
  );
  return relay;
}

afterEach(async () => {
  await relay?.close();
  cleanup();
});

const post = (headers: Record<string, string>) => ({
  method: 'POST' as const,
  url: '/hooks/selfhosted',
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
    expect(missing.json().error.code).toBe('RELAY_ERR_INGRESS_TOKEN_MISSING');
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

describe('auth: none', () => {
  it('accepts an unsigned webhook when written explicitly', async () => {
    const app = (await relayWithSource('    auth: none')).app;
    expect((await app.inject(post({}))).statusCode).toBe(200);
  });
});
