import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay.js';
import { startReceiver } from '../helpers/receiver.js';
import { configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { sampleEvent, signedRequest } from '../helpers/webhooks.js';
import { deadLettersOf, pendingOf } from '../helpers/queue.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI !== 'true') console.warn('\n!!! SKIPPED "disk full": mounting a small tmpfs needs root (CI never skips)\n');

let relay: Relay | undefined;
let mounted: string | undefined;
let cleanups: Array<() => unknown> = [];

afterEach(async () => {
  await relay?.close(300);
  relay = undefined;
  if (mounted) execFileSync('umount', ['-l', mounted]);
  mounted = undefined;
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe.skipIf(!isRoot && process.env.CI !== 'true')('disk full', () => {
  it('answers 503 when the queue disk is full, loses nothing acked, and recovers when space is back', async () => {
    let sinkUp = false;
    const accepted = new Set<string>();
    const receiver = await startReceiver((request, response) => {
      if (sinkUp) accepted.add((JSON.parse(request.body.toString()) as { id: string }).id);
      response.statusCode = sinkUp ? 200 : 503;
      response.end();
    });
    cleanups.push(receiver.close);
    const tmp = tempDir('relay-diskfull-');
    cleanups.push(tmp.cleanup);
    const disk = join(tmp.dir, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
    mounted = disk;

    relay = await testRelay(
      testConfig(
        configYaml(tmp.dir, `\nsinks:\n  hook: { type: webhook, url: "${receiver.url}/in", retry: { schedule_ms: [50], max_attempts: 100000 } }\nroutes: [{ name: all, to: [hook] }]\n`).replace(
          `dir: ${join(tmp.dir, 'queue')}`,
          `dir: ${join(disk, 'queue')}`,
        ),
      ),
    );
    relay.startDelivery();
    const acked: string[] = [];
    let refused: { statusCode: number; code: string } | undefined;
    for (let n = 0; n < 400 && !refused; n++) {
      const event = sampleEvent('crawl.page', { id: `job-${n}`, data: [{ markdown: 'x'.repeat(20_000), metadata: { url: `https://e.com/${n}` } }] });
      const response = await relay.app.inject(signedRequest(event));
      if (response.statusCode === 200) acked.push(`job-${n}`);
      else refused = { statusCode: response.statusCode, code: response.json().error.code };
    }
    expect(refused).toEqual({ statusCode: 503, code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
    expect(acked.length).toBeGreaterThan(10);
    // Readiness is "can accept and persist webhooks": not after a failed commit.
    expect(relay.readiness().queue).toMatchObject({ ready: false, error: expect.stringMatching(/last commit failed/) });

    // Space is back: the same relay accepts again, then the sink comes back.
    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    const again = await relay.app.inject(signedRequest(sampleEvent('crawl.completed', { id: 'job-after' })));
    expect(again.statusCode).toBe(200);
    expect(relay.readiness().queue.ready).toBe(true);
    acked.push('job-after');
    sinkUp = true;
    await until(() => pendingOf(relay!, 'hook') === 0, 20_000, 50);
    expect(await deadLettersOf(relay)).toEqual([]);
    expect(acked.filter((job) => !accepted.has(job))).toEqual([]);
    expect(accepted.size).toBe(acked.length);
  });
});
