import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPlugins } from '../src/plugins/load-plugins.js';
import type { Relay } from '../src/relay.js';
import { builtinSinks } from '../src/sinks/registry.js';
import { startReceiver } from './helpers/receiver.js';
import { configYaml, tempDir, testConfig, testRelay } from './helpers/relay.js';
import { until } from './helpers/sinks.js';
import { sampleEvent, signedRequest } from './helpers/webhooks.js';

const PLUGINS = fileURLToPath(new URL('../plugins/', import.meta.url));
const closers: Array<() => unknown> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A relay delivering every event to the discord plugin, and the receiver standing in for Discord. */
async function discordRelay(): Promise<{ discord: Awaited<ReturnType<typeof startReceiver>>; relay: Relay }> {
    const discord = await startReceiver((_r, response) => response.writeHead(204).end());
    const tmp = tempDir();
    closers.push(discord.close, tmp.cleanup);
    const registry = await loadPlugins(PLUGINS, builtinSinks());
    const yaml = configYaml(tmp.dir, `sinks: { alerts: { type: discord, url: "${discord.url}" } }\nroutes: [{ name: all, to: [alerts] }]\n`);
    const relay: Relay = await testRelay(testConfig(yaml, registry), registry);
    closers.push(() => relay.close(500));
    relay.startDelivery();
  return { discord, relay };
}

describe('the discord example plugin', () => {
  // A failed v0 page of self-hosted Firecrawl sends its error as an object.
  it('describes a failed page whose error is an object as compact JSON', async () => {
    const { discord, relay } = await discordRelay();

    const failed = sampleEvent('crawl.page', { success: false, error: { code: 'ETIMEDOUT' } });
    expect((await relay.app.inject(signedRequest(failed))).statusCode).toBe(200);
    await until(() => discord.requests.length >= 1);
    expect(discord.json(0).embeds[0]).toMatchObject({ description: '{"code":"ETIMEDOUT"}' });
  });

  // Review of issue 17, item 11: a non-string metadata.error crashed embedOf (cut of an object).
  it('describes a page whose metadata.error is an object, and a monitor page whose error is one', async () => {
    const { discord, relay } = await discordRelay();

    const page = sampleEvent('crawl.page', { id: 'meta-job', success: false }) as { data: Array<{ metadata: Record<string, unknown> }> };
    page.data[0]!.metadata.error = { status: 500 };
    const monitor = sampleEvent('monitor.page', { id: 'monitor-job' }) as { data: Array<Record<string, unknown>> };
    monitor.data[0]!.error = ['blocked'];
    delete monitor.data[0]!.judgment;
    for (const event of [page, monitor]) expect((await relay.app.inject(signedRequest(event))).statusCode).toBe(200);
    await until(() => discord.requests.length >= 2);
    expect([discord.json(0).embeds[0].description, discord.json(1).embeds[0].description]).toEqual(['{"status":500}', '["blocked"]']);
  });
});
