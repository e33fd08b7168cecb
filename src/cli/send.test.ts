import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { configYaml, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { signedRequest } from '../../test/helpers/webhooks.js';
import type { Relay } from '../relay.js';
import { bodyToSend, send } from './send.js';
import { sample } from './samples.js';

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

describe('send FILE.json', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it('sets --job-id and --webhook-id on the file\'s event, and keeps the file byte for byte without them', () => {
    const tmp = tempDir('relay-send-file-');
    cleanup = tmp.cleanup;
    const file = `${tmp.dir}/event.json`;
    const text = '{ "success": true, "type": "crawl.started", "id": "from-file", "webhookId": "wh-file", "data": [] }';
    writeFileSync(file, text);
    const sent = JSON.parse(bodyToSend({ file, jobId: 'job-9', webhookId: 'wh-9' }).toString('utf8')) as Record<string, unknown>;
    expect([sent.id, sent.webhookId, sent.type]).toEqual(['job-9', 'wh-9', 'crawl.started']);
    expect(bodyToSend({ file }).toString('utf8')).toBe(text);
  });

  it('refuses --job-id on a file that holds no JSON object, naming the file (RELAY_ERR_CLI_USAGE)', () => {
    const tmp = tempDir('relay-send-file-');
    cleanup = tmp.cleanup;
    const file = `${tmp.dir}/list.json`;
    writeFileSync(file, '[1]');
    expect(() => bodyToSend({ file, jobId: 'j' })).toThrow(expect.objectContaining({ code: 'RELAY_ERR_CLI_USAGE', message: expect.stringContaining(`${file} to hold a JSON object, got an array`) }));
  });
});

describe('send', () => {
  it('posts the signed body and returns the answer; a refusal is RELAY_ERR_CLI_SEND with its status and body', async () => {
    const received: Array<{ signature: unknown; length: unknown; body: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        received.push({ signature: req.headers['x-firecrawl-signature'], length: req.headers['content-length'], body: Buffer.concat(chunks).toString() });
        res.statusCode = received.length === 1 ? 200 : 503;
        res.end(received.length === 1 ? '{"ok":true}' : 'busy');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/firecrawl`;
    try {
      const answer = await send({ url, secret: 's', sample: 'crawl.started', jobId: 'j1' });
      expect(answer).toEqual({ status: 200, body: '{"ok":true}' });
      expect(received[0]!.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(Number(received[0]!.length)).toBe(Buffer.byteLength(received[0]!.body));
      await expect(send({ url, secret: 's', sample: 'crawl.started' })).rejects.toMatchObject({ code: 'RELAY_ERR_CLI_SEND', message: expect.stringContaining('busy') });
    } finally {
      server.close();
    }
  });
});

// Issue 17 (trial): `send --sample crawl.pag` listed every type but did not say which was meant.
describe('send --sample with a mistyped type', () => {
  it('says what was expected, what was got, and the closest type', () => {
    expect(() => sample('crawl.pag')).toThrow(/^expected --sample to name an event type, got "crawl.pag": did you mean "crawl.page"\? \(known: .*crawl\.page/);
  });
});
