import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPlugins } from '../src/plugins/load-plugins.js';
import { withReadOnlyPayloads } from '../src/plugins/read-only-payload.js';
import { builtinSinks } from '../src/sinks/registry.js';
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

/** A plugin sink, wrapped as the plugin loader wraps every plugin (built-in sinks share the stored bytes). */
const sink = (type: string, deliver: (event: RelayEvent) => void): SinkDefinition<Record<string, never>> =>
  withReadOnlyPayloads({
    type,
    configSchema: { type: 'object' },
    create: () => ({ async deliver(event) { deliver(event); } }),
  });

describe('a payload one plugin mutates', () => {
  it('reaches the other sink as sent: the payload is read-only, the raw body is the plugin\'s own copy', async () => {
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
      // And through the memory under it: a pooled copy would share it with other buffers.
      new Uint8Array(event.raw.buffer).fill(0x42);
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

// Review of issue 17, item 4: in a folder no package.json marks "type": "module", tsx loads a
// plugin as sloppy CommonJS, where writing to a frozen object fails silently.
describe('a plugin loaded as sloppy CommonJS that writes to the payload', () => {
  it('gets a TypeError, in .ts and .js alike, and the next sink sees the payload as sent', async () => {
    const tmp = tempDir('relay-sloppy-');
    cleanup = tmp.cleanup;
    const plugins = join(tmp.dir, 'plugins');
    mkdirSync(plugins);
    for (let up = plugins; up !== dirname(up); up = dirname(up)) expect(existsSync(join(up, 'package.json')), up).toBe(false);
    const out = join(tmp.dir, 'out.txt');
    writeFileSync(
      join(plugins, 'mut_js.js'),
      "const { defineSink, Type } = require('firecrawl-relay/plugin-api');\nconst { appendFileSync } = require('node:fs');\nmodule.exports = defineSink({ type: 'mut_js', configSchema: Type.Object({ file: Type.String() }), create: (o) => ({ async deliver(event) {\n  let r = 'no throw';\n  try { event.payload.id = 'changed'; } catch (e) { r = 'threw ' + e.name; }\n  try { delete event.payload.data[0].markdown; } catch (e) { r += ', threw ' + e.name; }\n  appendFileSync(o.file, `js: ${r}; id ${event.payload.id}\\n`);\n} }) });\n",
    );
    writeFileSync(
      join(plugins, 'mut_ts.ts'),
      "import { defineSink, Type } from 'firecrawl-relay/plugin-api';\nimport { appendFileSync } from 'node:fs';\nexport default defineSink({ type: 'mut_ts', configSchema: Type.Object({ file: Type.String() }), create: (o) => ({ async deliver(event) {\n  let r = 'no throw';\n  try { (event.payload as any).id = 'changed'; } catch (e) { r = 'threw ' + (e as Error).name; }\n  try { ((event.payload.data as any[])[0].metadata as any).title = 'x'; } catch (e) { r += ', threw ' + (e as Error).name; }\n  appendFileSync(o.file, `ts: ${r}; id ${event.payload.id}; pages ${JSON.stringify(event.payload.data).length > 2}\\n`);\n} }) });\n",
    );
    const registry = await loadPlugins(plugins, builtinSinks(), tmp.dir);
    const yaml = configYaml(tmp.dir, `\nsinks:\n  a: { type: mut_ts, file: ${JSON.stringify(out)}, max_in_flight: 1 }\n  b: { type: mut_js, file: ${JSON.stringify(out)} }\nroutes: [{ name: all, to: [a, b] }]\n`);
    relay = await testRelay(testConfig(yaml, registry), registry);
    relay.startDelivery();
    expect((await relay.app.inject(signedRequest(JSON.stringify(sampleEvent('crawl.page', { id: 'sloppy-job' }))))).statusCode).toBe(200);
    await until(() => existsSync(out) && readFileSync(out, 'utf8').trim().split('\n').length === 2);
    expect(readFileSync(out, 'utf8').trim().split('\n').sort()).toEqual([
      'js: threw TypeError, threw TypeError; id sloppy-job',
      'ts: threw TypeError, threw TypeError; id sloppy-job; pages true',
    ]);
  });
});
