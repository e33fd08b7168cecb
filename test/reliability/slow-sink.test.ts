import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay.js';
import { startReceiver } from '../helpers/receiver.js';
import { configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { deadLettersOf, pendingOf } from '../helpers/queue.js';
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
    // The slow destination answers nothing until released: whatever the machine's load,
    // the archive must have every event before the slow sink's first write completes.
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const order: string[] = [];
    const slow = await startReceiver((_q, response) => {
      void released.then(() => setTimeout(() => {
        order.push('slow answered');
        response.end('ok');
      }, 20));
    });
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
  slow: { type: webhook, url: "${slow.url}/slow", max_in_flight: 1, write_timeout_ms: 60000 }
  flaky: { type: webhook, url: "${flaky.url}/flaky", retry: { schedule_ms: [100], max_attempts: 100 } }
routes: [{ name: all, to: [archive, slow, flaky] }]
`,
        ),
      ),
    );
    void relay.startDelivery();
    for (let n = 0; n < 40; n++) {
      expect((await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { id: `job-${n}` })))).statusCode).toBe(200);
    }
    const file = join(out, 'events.jsonl');
    await until(() => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 40, 20_000);
    order.push('archive has all 40');
    expect(pendingOf(relay, 'slow')).toBe(40);
    release();

    await until(() => pendingOf(relay!, 'slow') === 0 && pendingOf(relay!, 'flaky') === 0, 30_000, 50);
    expect(order[0]).toBe('archive has all 40');
    expect(order.filter((o) => o === 'slow answered')).toHaveLength(40);
    const ids = (requests: Array<{ body: Buffer }>) => new Set(requests.map((r) => (JSON.parse(r.body.toString()) as { id: string }).id));
    expect(ids(slow.requests).size).toBe(40);
    expect(ids(flaky.requests).size).toBe(40);
    expect(await deadLettersOf(relay)).toEqual([]);
    downUntil = 0;
  });
});
