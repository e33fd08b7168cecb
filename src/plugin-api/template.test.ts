import { describe, expect, it } from 'vitest';
import type { RelayEvent } from './index.js';
import { compileTemplate, type Template } from './template.js';

/** A failed event as a sink sees it, with `error` as the sender wrote it. */
function failedEvent(type: string, error: unknown): RelayEvent {
  return { type, jobId: 'job-1', success: false, payload: { success: false, type, id: 'job-1', data: [], metadata: {}, error } } as unknown as RelayEvent;
}

describe('{{error}}', () => {
  it('renders {{error}} as the message or compact JSON, and {{error.code}} inside an object', () => {
    const whole = compileTemplate('{{type}}: {{error | none}}') as Template;
    expect(whole.render({ event: failedEvent('crawl.page', 'Page timed out') })).toBe('crawl.page: Page timed out');
    expect(whole.render({ event: failedEvent('crawl.page', {}) })).toBe('crawl.page: {}');
    expect(whole.render({ event: failedEvent('crawl.page', { code: 408 }) })).toBe('crawl.page: {"code":408}');
    expect(whole.render({ event: failedEvent('crawl.page', null) })).toBe('crawl.page: none');
    const inside = compileTemplate('{{error.code | ?}}') as Template;
    expect(inside.render({ event: failedEvent('crawl.page', { code: 408 }) })).toBe('408');
    expect(inside.render({ event: failedEvent('crawl.page', 'Page timed out') })).toBe('?');
  });
});

const event = (webhookId: unknown): RelayEvent =>
  ({ type: 'monitor.page', jobId: 'job-1', payload: { success: true, type: 'monitor.page', id: 'job-1', data: [], metadata: {}, webhookId } }) as unknown as RelayEvent;

describe('{{webhookId}}', () => {
  // The envelope accepts any JSON there; only a non-empty string is Firecrawl's delivery id.
  it.each([
    { webhookId: 'f1e2d3c4', text: 'f1e2d3c4' },
    { webhookId: 42, text: 'none' },
    { webhookId: { id: 'w' }, text: 'none' },
    { webhookId: '', text: 'none' },
    { webhookId: undefined, text: 'none' },
  ])('renders $webhookId as $text', ({ webhookId, text }) => {
    const template = compileTemplate('{{webhookId | none}}') as Template;
    expect(template.render({ event: event(webhookId) })).toBe(text);
  });
});
