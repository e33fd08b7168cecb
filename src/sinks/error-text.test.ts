import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../plugin-api/index.js';
import { errorText } from './error-text.js';
import { slackMessage } from './slack/blocks.js';

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
    const payload = { success: false, type: 'crawl.page', id: 'job-1', data: [], metadata: {}, error: { code: 'ETIMEDOUT' } };
    const event = { type: payload.type, jobId: 'job-1', success: false, payload } as unknown as RelayEvent;
    const message = slackMessage(event, []);
    expect(message?.text).toBe('crawl.page failed · job job-1: {"code":"ETIMEDOUT"}');
  });
});
