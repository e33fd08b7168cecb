import { describe, expect, it } from 'vitest';
import type { RelayEvent } from './index.js';
import { errorText } from './error-text.js';
import { slackMessage } from '../sinks/slack/blocks.js';

/** A failed event as a sink sees it, with `error` as the sender wrote it. */
function failedEvent(type: string, error: unknown, data: unknown[] = []): RelayEvent {
  const payload = { success: false, type, id: 'job-1', data, metadata: {}, error };
  return { type, jobId: 'job-1', success: false, payload } as unknown as RelayEvent;
}

describe('errorText', () => {
  it.each([
    { error: 'Page timed out', text: 'Page timed out' },
    { error: {}, text: '{}' },
    { error: { message: 'timeout', code: 408 }, text: '{"message":"timeout","code":408}' },
    { error: undefined, text: undefined },
    { error: null, text: undefined },
    { error: '', text: undefined },
  ])('gives $error as $text', ({ error, text }) => {
    expect(errorText(error)).toBe(text);
  });

  it("puts an object error in a Slack failure alert as compact JSON (a v0 page's Error serialises to {})", () => {
    const message = slackMessage(failedEvent('crawl.page', { code: 'ETIMEDOUT' }), []);
    expect(message?.text).toBe('crawl.page failed · job job-1: {"code":"ETIMEDOUT"}');
  });

  it('puts an object error in a Slack monitor check summary as compact JSON', () => {
    const check = { monitorId: 'm-1', status: 'failed', summary: { totalPages: 2, error: 2 } };
    const message = slackMessage(failedEvent('monitor.check.completed', { reason: 'quota' }, [check]), []);
    expect(message?.text).toMatch(/\nError: \{"reason":"quota"\}$/);
  });
});
