import { describe, expect, it } from 'vitest';
import { parseEnvelope } from './envelope.js';

const url = (body: object) => parseEnvelope(Buffer.from(JSON.stringify({ success: true, ...body }))).url;

describe('a page event\'s URL, read at ingress', () => {
  it('takes the first page\'s metadata.url, else its sourceURL, cut at 2048 characters; none for other events', () => {
    expect(url({ type: 'crawl.page', id: 'j', data: [{ metadata: { sourceURL: 'https://a.test/from', url: 'https://a.test/to' } }] })).toBe('https://a.test/to');
    expect(url({ type: 'batch_scrape.page', id: 'j', data: [{ metadata: { sourceURL: 'https://b.test/' } }] })).toBe('https://b.test/');
    expect(url({ type: 'monitor.page', id: 'j', data: [{ metadata: { url: 'x'.repeat(3000) } }] })).toBe('x'.repeat(2048));
    expect(url({ type: 'crawl.started', id: 'j', data: [{ metadata: { url: 'https://not-a-page.test/' } }] })).toBeNull();
    expect(url({ type: 'crawl.page', id: 'j', data: [{ markdown: '"url": "no"', metadata: { url: 42 } }] })).toBeNull();
    expect(url({ type: 'crawl.page', id: 'j', data: [] })).toBeNull();
    expect(url({ type: 'crawl.page', id: 'j', data: [{ metadata: { url: 'https://a.test/\u0000x' } }] })).toBe('https://a.test/x');
  });
});
