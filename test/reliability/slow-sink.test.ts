import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay.js';
import { startReceiver } from '../helpers/receiver.js';
import { configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { sampleEvent, signedRequest } from '../helpers/webhooks.js';

let relay: Relay | undefined;
let cleanups: Array<() => unknown> = [];

afterEach(async () => {
  await relay?.close(300);
  relay = undefined;
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe('a slow sink and a sink down for a while', () => {
  it('keep the other sinks at their pace, and lose nothing', async () => {
    let downUntil = Date.now() + 1500;
    const slow = await startReceiver((_q, response) => setTimeout(() => response.end('ok'), 150));
    const flaky = await startReceiver((_q, response) => {
      response.statusCode = Date.now() < downUntil ? 503 : 200;
      response.end();
    });
    cleanups.push(slow.close, flaky.close);
    const tmp = tempDir('relay-slow-');
    cleanups.push(tmp.cleanup);
    const out = join(tmp.dir, 'out');
    relay = await testRelay(
      testConfig(
        configYaml(
          tmp.dir,
          `
sinks:
  archive: { type: file, dir: ${out}, markdown: false }
  slow: { type: webhook, url: "${slow.url}/slow", max_concurrency: 1, batch_max_events: 10 }
  flaky: { type: webhook, url: "${flaky.url}/flaky", retry: { schedule_ms: [100], max_attempts: 100 } }
routes: [{ name: all, to: [archive, slow, flaky] }]
`,
        ),
      ),
    );
    relay.startDelivery();
    const started = Date.now();
    for (let n = 0; n < 40; n++) {
      expect((await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { id: `job-${n}` })))).statusCode).toBe(200);
    }
    const file = join(out, 'events.jsonl');
    await until(() => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 40, 5000);
    const archiveTook = Date.now() - started;
    // 40 events through a sink that takes 150 ms each need 6 s; the archive did not wait.
    expect(archiveTook).toBeLessThan(1500);
    expect(relay.queue.stats().pending.get('slow')?.count ?? 0).toBeGreaterThan(20);

    await until(() => !relay!.queue.stats().pending.has('slow') && !relay!.queue.stats().pending.has('flaky'), 20_000, 50);
    const ids = (requests: Array<{ body: Buffer }>) => new Set(requests.map((r) => (JSON.parse(r.body.toString()) as { id: string }).id));
    expect(ids(slow.requests).size).toBe(40);
    expect(ids(flaky.requests).size).toBe(40);
    expect(relay.queue.stats().dead.size).toBe(0);
    downUntil = 0;
  });
});
