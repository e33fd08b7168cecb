import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Relay } from '../../src/relay.js';
import { configYaml, tempDir, testConfig, testRelay } from './relay.js';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
export const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * A relay (not listening, delivery not started) with the admin API on, one `archive` file
 * sink and one route to it; `close` stops it and removes its folder.
 */
export async function adminRelay(options: { logger?: Logger } = {}): Promise<{ relay: Relay; close: () => Promise<void> }> {
  const tmp = tempDir('relay-admin-');
  const config = testConfig(
    configYaml(tmp.dir, `
admin: { token: ${ADMIN_TOKEN} }
sinks: { archive: { type: file, dir: "${join(tmp.dir, 'out')}" } }
routes: [{ name: all, to: [archive] }]
`),
  );
  const relay = await testRelay(config, undefined, options.logger ? { logger: options.logger } : {});
  return {
    relay,
    close: async () => {
      await relay.close(100);
      tmp.cleanup();
    },
  };
}
