import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Logger } from 'pino';
import type { Relay } from '../../src/relay.js';
import type { SinkRegistry } from '../../src/config/load.js';
import { builtinSinks } from '../../src/sinks/registry.js';
import { PermanentError } from '../../src/plugin-api/errors.js';
import { deadLetterCount } from './queue.js';
import { configYaml, registryWith, tempDir, testConfig, testRelay } from './relay.js';
import { RecordingSink, until } from './sinks.js';
import { sampleEvent, signedRequest } from './webhooks.js';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
export const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * A relay (not listening, delivery not started) with the admin API on and, unless `sinks`
 * (YAML, with `registry` for test sink types) says otherwise, one `archive` file sink; one
 * route to the first sink. `close` stops it and removes its folder.
 */
export async function adminRelay(
  options: { logger?: Logger; sinks?: string; registry?: SinkRegistry } = {},
): Promise<{ relay: Relay; close: () => Promise<void> }> {
  const tmp = tempDir('relay-admin-');
  const sinks = options.sinks ?? `{ archive: { type: file, dir: "${join(tmp.dir, 'out')}" } }`;
  const first = /^\{\s*(\w+)/.exec(sinks)![1];
  const registry = options.registry ?? builtinSinks();
  const config = testConfig(
    configYaml(tmp.dir, `
admin: { token: ${ADMIN_TOKEN} }
sinks: ${sinks}
routes: [{ name: all, to: [${first}] }]
`),
    registry,
  );
  const relay = await testRelay(config, registry, options.logger ? { logger: options.logger } : {});
  return {
    relay,
    close: async () => {
      await relay.close(100);
      tmp.cleanup();
    },
  };
}

/** An admin relay whose one sink `rec` refuses every event: jobs job-1, job-2, job-3 end as dead letters. */
/**
 * For a describe block: `start()` builds an `adminRelay()` for the test that calls it, and the
 * relay is closed after that test.
 */
export function adminRelayEachTest(): () => Promise<Relay> {
  let close = async (): Promise<void> => {};
  afterEach(() => close());
  return async () => {
    const built = await adminRelay();
    close = built.close;
    return built.relay;
  };
}

export async function adminRelayWithDeadLetters(options: { logger?: Logger } = {}) {
  const sink = new RecordingSink();
  sink.behaviour = (batch) => ({ failed: batch.map((_, index) => ({ index, error: new PermanentError('HTTP 400') })) });
  const built = await adminRelay({ ...options, sinks: '{ rec: { type: recording } }', registry: registryWith(sink.definition()) });
  built.relay.startDelivery();
  for (const id of ['job-1', 'job-2', 'job-3']) await built.relay.app.inject(signedRequest(sampleEvent('crawl.page', { id, data: [{ markdown: 'PAYLOAD-TEXT' }] })));
  await until(() => deadLetterCount(built.relay, 'rec') === 3);
  return built;
}
