import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, formatIssue, type ConfigIssue } from '../../config/config-error.js';
import type { Relay } from '../../relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../../test/helpers/relay.js';
import { startReceiver } from '../../../test/helpers/receiver.js';
import { startSeedReceiver } from '../../../test/helpers/seed-receiver.js';
import { until } from '../../../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../../../test/helpers/webhooks.js';
import { deadLettersOf, pendingOf } from '../../../test/helpers/queue.js';

const OUT_SECRET = 'their-own-secret';
const WHSEC_OLD = `whsec_${Buffer.from('old-key-0123456789abcdef').toString('base64')}`;
const WHSEC_NEW = `whsec_${Buffer.from('new-key-0123456789abcdef').toString('base64')}`;

let relay: Relay | undefined;
let cleanups: Array<() => unknown> = [];

afterEach(async () => {
  await relay?.close(500);
  relay = undefined;
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function start(sink: string): Promise<Relay> {
  const tmp = tempDir('relay-webhook-');
  cleanups.push(tmp.cleanup);
  relay = await testRelay(testConfig(configYaml(tmp.dir, `\nsinks:\n  out:\n    type: webhook\n${sink}\nroutes: [{ name: all, to: [out] }]\n`)));
  relay.startDelivery();
  return relay;
}

const deadLetters = (r: Relay) => deadLettersOf(r);
const pendingCount = (r: Relay) => pendingOf(r, 'out');
const FAST = '    retry: { schedule_ms: [100, 200, 300] }';

describe('webhook sink, firecrawl scheme', () => {
  it("is verified by the receiver from Firecrawl's docs, also after a retry, with one delivery id", async () => {
    let calls = 0;
    const seed = await startSeedReceiver(OUT_SECRET, (_req, res) => {
      if (++calls > 1) return false;
      res.status(500).send('try again');
      return true;
    });
    cleanups.push(seed.close);
    const r = await start(`    url: ${seed.url}\n    signature: { scheme: firecrawl, secret: ${OUT_SECRET} }\n${FAST}`);
    const event = sampleEvent('crawl.page', { id: 'job-w1' });
    await r.app.inject(signedRequest(event));
    await until(() => seed.verified.length === 1, 5000);
    expect(seed.answered).toEqual([500, 200]);
    expect(seed.verified[0]!.event).toEqual(event);
    expect(seed.verified[0]!.headers['x-relay-delivery-id']).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  it('is refused by that receiver when signed with another secret', async () => {
    const seed = await startSeedReceiver('the-receivers-secret');
    cleanups.push(seed.close);
    const r = await start(`    url: ${seed.url}\n    signature: { scheme: firecrawl, secret: ${OUT_SECRET} }\n    retry: { schedule_ms: [50], max_attempts: 2 }`);
    await r.app.inject(signedRequest(sampleEvent('crawl.completed')));
    await until(async () => (await deadLetters(r)).length === 1, 5000);
    expect(seed.verified).toHaveLength(0);
    expect(seed.answered).toEqual([401, 401]);
    expect((await deadLetters(r))[0]!.lastError).toBe('receiver answered HTTP 401: Invalid signature');
  });

  it('signs the exact bytes sent when metadata is merged into the body', async () => {
    const seed = await startSeedReceiver(OUT_SECRET);
    cleanups.push(seed.close);
    const r = await start(`    url: ${seed.url}\n    signature: { scheme: firecrawl, secret: ${OUT_SECRET} }\n    body: { metadata: { relayed_by: eu-relay, any_key: overridden } }`);
    await r.app.inject(signedRequest(sampleEvent('crawl.completed', { metadata: { any_key: 'any_value', team: 'a' } })));
    await until(() => seed.verified.length === 1, 5000);
    expect((seed.verified[0]!.event as { metadata: unknown }).metadata).toEqual({ any_key: 'overridden', team: 'a', relayed_by: 'eu-relay' });
  });
});

describe('webhook sink, standard scheme', () => {
  it('is verified by the standardwebhooks library, on the old and the new secret, also after a retry', async () => {
    const receiver = await startReceiver((request, response, count) => {
      response.statusCode = count === 1 ? 503 : 204;
      response.end();
    });
    cleanups.push(receiver.close);
    const r = await start(`    url: ${receiver.url}/hooks\n    signature: { scheme: standard, secrets: ["${WHSEC_NEW}", "${WHSEC_OLD}"] }\n${FAST}`);
    const event = sampleEvent('batch_scrape.completed', { id: 'job-s1' });
    await r.app.inject(signedRequest(event));
    await until(() => receiver.requests.length === 2 && pendingCount(r) === 0, 5000);
    const [first, second] = receiver.requests;
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    for (const request of [first!, second!]) {
      for (const secret of [WHSEC_NEW, WHSEC_OLD]) {
        const verified = new Webhook(secret).verify(request.body.toString(), request.headers as Record<string, string>);
        expect(verified).toEqual(event);
      }
    }
    const stranger = `whsec_${Buffer.from('some-other-key-0123456789').toString('base64')}`;
    expect(() => new Webhook(stranger).verify(second!.body.toString(), second!.headers as Record<string, string>)).toThrow();
  });

  it('rejects a secret that is not whsec_… at load, with file and line', () => {
    expect(() =>
      testConfig(configYaml('/tmp/x', `\nsinks:\n  out:\n    type: webhook\n    url: http://127.0.0.1:1/\n    signature: { scheme: standard, secret: plain }\nroutes: [{ name: all, to: [out] }]\n`)),
    ).toThrow(/relay.config.yaml:\d+:\d+ sinks.out.signature.secret: expected a Standard Webhooks secret/);
  });
});

describe('webhook sink, answers and retries', () => {
  it('parks a 410 Gone at once, with no more tries', async () => {
    const receiver = await startReceiver((_q, response) => {
      response.statusCode = 410;
      response.end('gone');
    });
    cleanups.push(receiver.close);
    const r = await start(`    url: ${receiver.url}\n${FAST}`);
    await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    await until(async () => (await deadLetters(r)).length === 1, 5000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(receiver.requests).toHaveLength(1);
    expect((await deadLetters(r))[0]).toMatchObject({ attempts: 1 });
    expect((await deadLetters(r))[0]!.lastError).toMatch(/^receiver answered HTTP 410: gone/);
  });

  it('waits for Retry-After on a 429', async () => {
    const receiver = await startReceiver((_q, response, count) => {
      if (count === 1) {
        response.writeHead(429, { 'retry-after': '1' });
        response.end();
      } else response.end('ok');
    });
    cleanups.push(receiver.close);
    const r = await start(`    url: ${receiver.url}\n${FAST}`);
    await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    await until(() => receiver.requests.length === 2, 5000);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('retries a 500 on the configured schedule until it is accepted', async () => {
    const receiver = await startReceiver((_q, response, count) => {
      response.statusCode = count < 3 ? 500 : 200;
      response.end();
    });
    cleanups.push(receiver.close);
    const r = await start(`    url: ${receiver.url}\n${FAST}`);
    await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    await until(() => receiver.requests.length === 3 && pendingCount(r) === 0, 5000);
    const gaps = receiver.requests.slice(1).map((q, i) => q.at - receiver.requests[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(190);
  });

  it('retries a receiver that answers after timeout_ms', async () => {
    const receiver = await startReceiver((_q, response, count) => {
      if (count === 1) setTimeout(() => response.end('late'), 1500);
      else response.end('ok');
    });
    cleanups.push(receiver.close);
    const r = await start(`    url: ${receiver.url}\n    timeout_ms: 300\n${FAST}`);
    await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    await until(() => receiver.requests.length === 2 && pendingCount(r) === 0, 5000);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeLessThan(1500);
  });

  it('does not follow a redirect unless told to', async () => {
    const target = await startReceiver();
    const redirecting = await startReceiver((_q, response) => {
      response.writeHead(307, { location: `${target.url}/moved` });
      response.end();
    });
    cleanups.push(target.close, redirecting.close);
    const r = await start(`    url: ${redirecting.url}\n    retry: { schedule_ms: [50], max_attempts: 2 }`);
    await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    await until(async () => (await deadLetters(r)).length === 1, 5000);
    expect(target.requests).toHaveLength(0);
    expect((await deadLetters(r))[0]!.lastError).toMatch(/HTTP 307.*redirect to .*\/moved not followed/);

    await relay!.close(500);
    relay = await start(`    url: ${redirecting.url}\n    follow_redirects: 1`);
    await relay.app.inject(signedRequest(sampleEvent('crawl.completed')));
    await until(() => target.requests.length === 1, 5000);
    expect(target.requests[0]!.url).toBe('/moved');
  });

  it("retries on Firecrawl's schedule by default: after 1, 5 and 15 minutes", () => {
    const config = testConfig(configYaml('/tmp/x', `\nsinks:\n  out: { type: webhook, url: "http://127.0.0.1:1/" }\n  mine: { type: webhook, url: "http://127.0.0.1:1/", retry: { max_attempts: 2 } }\nroutes: [{ name: all, to: [out, mine] }]\n`));
    expect(config.sinks[0]!.retry).toMatchObject({ schedule_ms: [60_000, 300_000, 900_000], max_attempts: 4 });
    expect(config.sinks[1]!.retry).toMatchObject({ schedule_ms: [60_000, 300_000, 900_000], max_attempts: 2 });
  });
});

describe('webhook sink options', () => {
  it('says where release 0.1\'s max_concurrency went, at its line', () => {
    const yaml = configYaml('/tmp', `\nsinks:\n  out:\n    type: webhook\n    url: http://127.0.0.1:1/x\n    max_concurrency: 4\nroutes: [{ name: all, to: [out] }]\n`);
    let issues: ConfigIssue[] = [];
    try {
      testConfig(yaml);
    } catch (err) {
      if (err instanceof ConfigError) issues = [...err.issues];
    }
    expect(issues.map(formatIssue)).toEqual([expect.stringMatching(/:\d+:\d+ sinks\.out\.max_concurrency: expected max_in_flight: 4 .*got max_concurrency \[RELAY_ERR_CONFIG_SINK_OPTIONS\]$/)]);
  });
});
