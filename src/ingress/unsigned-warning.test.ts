import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Relay } from '../relay.js';
import { capturedLogger } from '../../test/helpers/logs.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { sampleEvent, signedRequest } from '../../test/helpers/webhooks.js';
import { UNSIGNED_WARNING_INTERVAL_MS } from './unsigned-warning.js';

let relay: Relay;
let cleanup: () => void;
let warnings: () => Array<Record<string, unknown>>;

beforeEach(async () => {
  // Only Date is faked: the rate limit reads the clock, Fastify's own timers run as usual.
  vi.useFakeTimers({ toFake: ['Date'] });
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  const logs = capturedLogger();
  warnings = logs.warnings;
  const config = testConfig(configYaml(tmp.dir, 'sinks: { out: { type: stdout } }\nroutes: [{ name: all, to: [out] }]\n'));
  relay = await testRelay(config, undefined, { logger: logs.logger });
});

afterEach(async () => {
  vi.useRealTimers();
  await relay.close();
  cleanup();
});

/** What self-hosted Firecrawl sends: JSON and its token header, no signature. */
const unsigned = () => ({
  method: 'POST' as const,
  url: '/webhooks/firecrawl',
  headers: { 'content-type': 'application/json', 'user-agent': 'axios/1.11.0', 'x-relay-token': 'tok-accept-123' },
  payload: JSON.stringify(sampleEvent('crawl.started')),
});

async function counter(name: string): Promise<number> {
  const values = (await relay.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.filter((v) => v.labels.source === 'firecrawl').reduce((sum, v) => sum + v.value, 0);
}

describe('webhooks without a signature on a source that checks signatures', () => {
  it('are refused, counted, and warned about once per interval with the fix and the count held back', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await relay.app.inject(unsigned());
      expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_SIGNATURE_MISSING');
    }
    expect(await counter('relay_webhooks_unsigned_total')).toBe(5);
    expect(await counter('relay_events_rejected_total')).toBe(5);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ source: 'firecrawl', suppressed: 0, msg: expect.stringContaining('token auth') });
    expect(warnings()[0]!.fix).toContain('auth: { header: X-Relay-Token, query: token, tokens: ["<token>"] }');
    expect(warnings()[0]!.fix).toContain('"headers": { "X-Relay-Token": "<token>" }');
    expect(warnings()[0]!.fix).toContain('SELF_HOSTED_WEBHOOK_URL=<this relay>?token=<token>');
    expect(JSON.stringify(warnings())).not.toContain('tok-accept-123');

    vi.advanceTimersByTime(UNSIGNED_WARNING_INTERVAL_MS - 1);
    await relay.app.inject(unsigned());
    expect(warnings()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await relay.app.inject(unsigned());
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ source: 'firecrawl', suppressed: 5 });
    expect(await counter('relay_webhooks_unsigned_total')).toBe(7);
  });

  it('leaves signed, wrongly signed and malformed requests out of the count', async () => {
    const body = JSON.stringify(sampleEvent('crawl.started'));
    expect((await relay.app.inject(signedRequest(body))).statusCode).toBe(200);
    expect((await relay.app.inject(signedRequest(body, 'another-secret'))).statusCode).toBe(401);
    const malformed = signedRequest(body);
    const response = await relay.app.inject({ ...malformed, headers: { ...malformed.headers, 'x-firecrawl-signature': 'abc' } });
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_SIGNATURE_MALFORMED');
    expect(await counter('relay_webhooks_unsigned_total')).toBe(0);
    expect(warnings()).toEqual([]);
  });
});
