import { afterEach, describe, expect, it } from 'vitest';
import type { RelayEvent, SinkDefinition } from '../src/plugin-api/types.js';
import type { Relay } from '../src/relay.js';
import { configYaml, registryWith, tempDir, testConfig, testRelay } from './helpers/relay.js';
import { until } from './helpers/sinks.js';
import { sampleEvent, signedRequest } from './helpers/webhooks.js';

// Issue 17 follow-up, item 6: sinks share the parsed payload and the stored body; a plugin
// that changed them changed what every other sink got.
let relay: Relay | undefined;
let cleanup = (): void => {};
afterEach(async () => {
  await relay?.close(300);
  relay = undefined;
  cleanup();
});

const sink = (type: string, deliver: (event: RelayEvent) => void): SinkDefinition<Record<string, never>> => ({
  type,
  configSchema: { type: 'object' },
  create: () => ({ async deliver(event) { deliver(event); } }),
});

describe('a payload one sink mutates', () => {
  it('reaches the other sink as sent: the payload is frozen, the raw body is the sink\'s own copy', async () => {
    const tmp = tempDir('relay-frozen-');
    cleanup = tmp.cleanup;
    const refused: string[] = [];
    const seen: Array<{ title: unknown; markdown: unknown; raw: string }> = [];
    const mutating = sink('mutating', (event) => {
      // What a careless plugin does: trim the payload in place, scrub the body.
      for (const change of [
        () => ((event.payload.data as Array<{ metadata: { title: string } }>)[0]!.metadata.title = 'changed'),
        () => delete (event.payload.data as Array<{ markdown?: string }>)[0]!.markdown,
        () => ((event.payload as { id: string }).id = 'other'),
      ]) {
        try {
          change();
        } catch (err) {
          refused.push((err as Error).name);
        }
      }
      event.raw.fill(0x20);
    });
    const reading = sink('reading', (event) => {
      const [page] = event.payload.data as Array<{ markdown: unknown; metadata: { title: unknown } }>;
      seen.push({ title: page!.metadata.title, markdown: page!.markdown, raw: event.raw.toString('utf8') });
    });
    const registry = registryWith(mutating, reading);
    // The mutating sink first on the route, and on its own every time: the reading one after.
    const yaml = configYaml(tmp.dir, `\nsinks:\n  m: { type: mutating, max_in_flight: 1 }\n  r: { type: reading }\nroutes: [{ name: all, to: [m, r] }]\n`);
    relay = await testRelay(testConfig(yaml, registry), registry);
    const body = JSON.stringify(sampleEvent('crawl.page', { id: 'frozen-job' }));
    // Sent before delivery starts: both sinks take the event from the same caches.
    expect((await relay.app.inject(signedRequest(body))).statusCode).toBe(200);
    relay.startDelivery();
    await until(() => refused.length === 3 && seen.length === 1);
    const original = JSON.parse(body) as { data: Array<{ markdown: string; metadata: { title: string } }> };
    expect(refused).toEqual(['TypeError', 'TypeError', 'TypeError']);
    expect(seen).toEqual([{ title: original.data[0]!.metadata.title, markdown: original.data[0]!.markdown, raw: body }]);
  });
});
