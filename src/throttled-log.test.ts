import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../test/helpers/logs.js';
import { configYaml, tempDir, testConfig, testRelay } from '../test/helpers/relay.js';
import { THROTTLE_INTERVAL_MS } from './throttled-log.js';

beforeEach(() => {
  // Only Date is faked: the throttle reads the clock, Fastify's own timers run as usual.
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('lines a sender can cause at will', () => {
  it('writes one "webhook rejected" line per code per interval, then one carrying how many were left out', async () => {
    const tmp = tempDir();
    const logs = capturedLogger();
    const relay = await testRelay(
      testConfig(configYaml(tmp.dir, 'sinks: { out: { type: stdout } }\nroutes: [{ name: all, to: [out] }]\n')),
      undefined,
      { logger: logs.logger },
    );
    const unsigned = { method: 'POST' as const, url: '/webhooks/firecrawl', headers: { 'content-type': 'application/json' }, payload: '{}' };
    const rejected = () =>
      logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'webhook rejected').map((line) => [line.code, line.suppressed]);
    try {
      for (let i = 0; i < 50; i++) await relay.app.inject(unsigned);
      await relay.app.inject({ ...unsigned, headers: { 'content-type': 'text/plain', 'x-firecrawl-signature': `sha256=${'ab'.repeat(32)}` } });
      expect(rejected()).toEqual([
        ['RELAY_ERR_INGRESS_SIGNATURE_MISSING', undefined],
        ['RELAY_ERR_INGRESS_MEDIA_TYPE', undefined],
      ]);
      vi.setSystemTime(Date.now() + THROTTLE_INTERVAL_MS);
      await relay.app.inject(unsigned);
      expect(rejected().at(-1)).toEqual(['RELAY_ERR_INGRESS_SIGNATURE_MISSING', 49]);
      // Every one is still counted in the metrics.
      expect((await relay.metrics.eventsRejected.get()).values.reduce((n, v) => n + v.value, 0)).toBe(52);
    } finally {
      await relay.close();
      tmp.cleanup();
    }
  });
});
