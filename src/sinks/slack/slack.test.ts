import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Relay } from '../../relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../../test/helpers/relay.js';
import { startReceiver } from '../../../test/helpers/receiver.js';
import { until } from '../../../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../../../test/helpers/webhooks.js';
import { deadLettersOf, pendingOf } from '../../../test/helpers/queue.js';

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let relay: Relay;
let cleanup: () => void;

async function start(extra = ''): Promise<Relay> {
  const tmp = tempDir('relay-slack-');
  cleanup = tmp.cleanup;
  relay = await testRelay(
    testConfig(
      configYaml(
        tmp.dir,
        `
sinks:
  slack:
    type: slack
    url: ${receiver.url}/services/T000/B000/XXXX
    retry: { initial_delay_ms: 50, jitter: 0 }
${extra}
routes: [{ name: alerts, to: [slack] }]
`,
      ),
    ),
  );
  relay.startDelivery();
  return relay;
}

const texts = (message: Record<string, any>): string =>
  (message.blocks as Array<Record<string, any>>)
    .map((b) => b.text?.text ?? b.elements?.map((e: { text: string }) => e.text).join(' ') ?? '')
    .join('\n');

const delivered = (): boolean => pendingOf(relay, 'slack') === 0;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await relay?.close(500);
  await receiver.close();
  cleanup();
});

describe('slack sink against a real HTTP receiver', () => {
  it('alerts on a changed monitored page with url, judgment, before/after and a diff excerpt', async () => {
    const r = await start();
    await r.app.inject(signedRequest(sampleEvent('monitor.page')));
    await until(() => receiver.requests.length === 1 && delivered());
    const message = receiver.json(0);
    expect(receiver.requests[0]!.url).toBe('/services/T000/B000/XXXX');
    expect(message.text).toBe('Page changed: https://example.com/blog');
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Page changed: https://example.com/blog', emoji: true } });
    const all = texts(message);
    expect(all).toContain('*Meaningful:* yes (high confidence)');
    expect(all).toContain('_The page headline changed to announce a new release cadence._');
    expect(all).toContain('*Before:* Welcome to our weekly update.');
    expect(all).toContain('*After:* Welcome to our weekly update — now with daily releases!');
    expect(all).toContain('```--- previous\n+++ current');
    expect(all).toContain('monitor `019df960-06e7-7383-9d89-82c0113dc31a`');
  });

  it('sends nothing for a page that stayed the same, and still counts it delivered', async () => {
    const r = await start();
    const same = sampleEvent('monitor.page');
    (same.data as Array<Record<string, unknown>>)[0]!.status = 'same';
    await r.app.inject(signedRequest({ ...same, webhookId: 'same-1' }));
    await until(delivered);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.requests).toHaveLength(0);
    const outcome = (await r.metrics.deliveries.get()).values.find((v) => v.labels.outcome === 'delivered');
    expect(outcome?.value).toBe(1);
  });

  it('summarises a completed monitor check in one line of counts', async () => {
    const r = await start();
    await r.app.inject(signedRequest(sampleEvent('monitor.check.completed')));
    await until(() => receiver.requests.length === 1);
    expect(receiver.json(0).text).toBe('Monitor check completed: 2 pages, 1 changed, 0 new, 0 removed, 1 same, 0 errors');
  });

  it('reports a failed job and a failed page with type, job id and error', async () => {
    const r = await start();
    await r.app.inject(signedRequest(sampleEvent('extract.failed', { id: 'job-x' })));
    await r.app.inject(
      signedRequest(
        sampleEvent('batch_scrape.page', {
          id: 'job-y',
          success: false,
          error: 'Page timed out',
          data: [{ metadata: { url: 'https://e.com/slow', statusCode: 504 } }],
        }),
      ),
    );
    await until(() => receiver.requests.length === 2);
    expect(receiver.json(0).text).toBe('extract.failed · job job-x: Failed to extract data: timeout exceeded');
    expect(receiver.json(0).blocks[0].text.text).toBe('extract.failed · job job-x');
    expect(receiver.json(1).text).toBe('batch_scrape.page failed · job job-y: Page timed out');
    expect(texts(receiver.json(1))).toContain('*URL:* <https://e.com/slow>');
  });

  it('cuts text over Slack limits with a marker instead of being refused', async () => {
    const r = await start();
    await r.app.inject(signedRequest(sampleEvent('crawl.failed', { error: 'x'.repeat(10_000) })));
    await until(() => receiver.requests.length === 1);
    const message = receiver.json(0);
    for (const block of message.blocks as Array<Record<string, any>>) {
      if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(3000);
      if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(150);
    }
    expect(message.text.length).toBeLessThanOrEqual(3000);
    expect(message.text.endsWith('… (cut)')).toBe(true);
  });

  it('waits out a 429 with Retry-After, the whole sink with it, then delivers exactly once', async () => {
    receiver.respond = (_request, response, count) => {
      if (count === 1) {
        response.writeHead(429, { 'retry-after': '1' });
        response.end('rate_limited');
      } else response.end('ok');
    };
    const r = await start();
    await r.app.inject(signedRequest(sampleEvent('crawl.failed')));
    await until(() => receiver.requests.length === 2 && delivered(), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('retries a 5xx and dead-letters a 4xx with Slack’s reason', async () => {
    receiver.respond = (request, response, count) => {
      const body = request.body.toString();
      if (body.includes('crawl.failed') && count === 1) {
        response.statusCode = 503;
        response.end('service unavailable');
      } else if (body.includes('agent.failed')) {
        response.statusCode = 400;
        response.end('invalid_blocks');
      } else response.end('ok');
    };
    const r = await start();
    await r.app.inject(signedRequest(sampleEvent('crawl.failed')));
    await until(() => receiver.requests.length === 2 && delivered());
    await r.app.inject(signedRequest(sampleEvent('agent.failed')));
    await until(async () => (await deadLettersOf(r)).length === 1);
    expect((await deadLettersOf(r))[0]).toMatchObject({ type: 'agent.failed', attempts: 1, lastError: 'Slack answered HTTP 400: invalid_blocks' });
  });

  // Issue 12 item 1, as reported: the sink went on after the refused first post and the
  // relay then resent the later ones; the receiver accepted 2,3,1,2,3.
  it('after the first of three failed pages of a job is refused once, receives them 1,2,3, each once', async () => {
    receiver.respond = (_request, response, count) => {
      response.statusCode = count === 1 ? 503 : 200;
      response.end(count === 1 ? 'service unavailable' : 'ok');
    };
    const r = await start();
    for (const n of [1, 2, 3]) {
      const page = sampleEvent('crawl.page', { id: 'job-p', success: false, error: `page ${n} failed`, data: [{ metadata: { url: `https://e.com/${n}`, statusCode: 500 } }] });
      expect((await r.app.inject(signedRequest(page))).statusCode).toBe(200);
    }
    await until(() => delivered() && receiver.requests.length === 4, 10_000);
    const accepted = receiver.requests.slice(1).map((q) => /page (\d) failed/.exec(JSON.parse(q.body.toString()).text)?.[1]);
    expect(accepted).toEqual(['1', '2', '3']);
  });

  it('is rate limited by the relay to about one message a second (with a burst of 3) by default', async () => {
    const config = testConfig(configYaml('/tmp', `\nsinks: { slack: { type: slack, url: "http://127.0.0.1:1/x" } }\nroutes: [{ name: all, to: [slack] }]\n`));
    expect(config.sinks[0]).toMatchObject({ max_in_flight: 1, rate_limit: { per_second: 1, burst: 3 } });
    const r = await start();
    for (const id of ['r1', 'r2', 'r3', 'r4']) await r.app.inject(signedRequest(sampleEvent('crawl.failed', { id })));
    await until(() => receiver.requests.length === 4 && delivered(), 10_000);
    // The burst goes at once; the fourth waits for a token.
    expect(receiver.requests[3]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('renders a custom template instead of the built-in layout', async () => {
    const r = await start('    template: "*{{type}}* for `{{id}}` ({{metadata.environment | n/a}})"');
    await r.app.inject(signedRequest(sampleEvent('monitor.check.completed')));
    await until(() => receiver.requests.length === 1);
    expect(receiver.json(0).text).toBe('*monitor.check.completed* for `019df960-5f2a-75fb-a98b-bd2d32ca67d4` (production)');
  });

  it('keeps a template link\'s label its own when a page URL holds "|"', async () => {
    const r = await start('    template: "<{{data.0.metadata.url}}|Open the page>"');
    const event = sampleEvent('crawl.page', { data: [{ markdown: 'x', metadata: { url: 'https://evil.example/x|Your account is locked' } }] });
    await r.app.inject(signedRequest(event));
    await until(() => receiver.requests.length === 1);
    expect(receiver.json(0).text).toBe('<https://evil.example/x%7CYour account is locked|Open the page>');
  });
});
