import { afterEach, describe, expect, it } from 'vitest';
import { configYaml, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { signedRequest } from '../../test/helpers/webhooks.js';
import type { Relay } from '../relay.js';
import { bodyToSend } from './send.js';

const webhookIdOf = (body: Buffer): unknown => (JSON.parse(body.toString('utf8')) as { webhookId?: unknown }).webhookId;

describe('send --sample', () => {
  let relay: Relay | undefined;
  let cleanup = (): void => {};
  afterEach(async () => {
    await relay?.close(500);
    relay = undefined;
    cleanup();
  });

  it('gives each post of a sample that carries a webhookId a fresh one, so the relay takes neither for a duplicate', async () => {
    const tmp = tempDir('relay-send-');
    cleanup = tmp.cleanup;
    const yaml = configYaml(tmp.dir, `sinks: { out: { type: file, dir: ${tmp.dir}/out } }\nroutes: [{ name: all, to: [out] }]\n`);
    relay = await testRelay(testConfig(yaml));
    const job = { sample: 'monitor.page', jobId: 'same-job' };
    const first = bodyToSend(job);
    const second = bodyToSend(job);
    expect(webhookIdOf(first)).not.toEqual(webhookIdOf(second));
    const answers = [];
    for (const body of [first, second]) answers.push((await relay.app.inject(signedRequest(body))).json() as { duplicate: boolean });
    expect(answers.map((a) => a.duplicate)).toEqual([false, false]);
  });

  it('keeps the webhookId given with --webhook-id, on every post', () => {
    const pinned = { sample: 'crawl.page', webhookId: 'pinned-1' };
    expect([webhookIdOf(bodyToSend(pinned)), webhookIdOf(bodyToSend(pinned))]).toEqual(['pinned-1', 'pinned-1']);
  });
});
