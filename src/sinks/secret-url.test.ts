import pino from 'pino';
import { describe, expect, it } from 'vitest';
import slack from './slack/index.js';
import webhook from './webhook/index.js';
import { withoutUrls } from './secret-url.js';
import { relayEvent, sampleEvent } from '../../test/helpers/webhooks.js';

const CREDENTIAL = 'T000/B000/s3cr3tPath';
const ctx = { name: 'alerts', logger: pino({ level: 'silent' }), configDir: '.' };

describe('sink URLs in errors', () => {
  it('cuts the configured URL out of a message, even one with a space, and any other URL', () => {
    const url = `https://hooks.sla ck.com/services/${CREDENTIAL}`;
    expect(withoutUrls(`Failed to parse URL from ${url}; see http://x/${CREDENTIAL}`, url)).toBe('Failed to parse URL from <url>; see <url>');
  });

  it('a Slack URL that cannot be parsed is refused at check time, and never appears in a delivery error', async () => {
    const url = `https://hooks.sla ck.com/services/${CREDENTIAL}`;
    const options = { url, monitor_statuses: ['changed'], timeout_ms: 1000 };
    expect(slack.check!(options)).toEqual([{ path: ['url'], message: expect.stringMatching(/^expected a URL that can be parsed, got a string of \d+ characters/) }]);
    const sink = await slack.create(options, ctx);
    const failure = await (sink as { deliver: (e: unknown, s: AbortSignal) => Promise<void> })
      .deliver(relayEvent(sampleEvent('crawl.failed', { id: 'j' })), new AbortController().signal)
      .then(() => null, (err: Error) => err);
    expect(failure?.message).toMatch(/^Slack unreachable: /);
    expect(`${failure?.message} ${failure?.stack} ${String(failure?.cause)}`).not.toContain(CREDENTIAL);
  });

  it('a webhook URL that cannot be parsed is refused at check time', () => {
    const options = { url: `https://exa mple.com/${CREDENTIAL}`, signature: { scheme: 'none' } };
    expect(webhook.check!(options as never)).toEqual([{ path: ['url'], message: expect.not.stringContaining(CREDENTIAL) }]);
  });
});
