import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../plugin-api/index.js';
import { relayEvent } from '../../../test/helpers/webhooks.js';
import { compileS3Templates, objectsOf } from './objects.js';
import { DEFAULT_JSON_KEY, DEFAULT_MARKDOWN_KEY, type S3SinkOptions } from './options.js';

const OPTIONS = {
  bucket: 'b',
  key: DEFAULT_MARKDOWN_KEY,
  event_key: DEFAULT_JSON_KEY,
  format: 'markdown',
  region: 'us-east-1',
  force_path_style: true,
  metadata: {},
  max_concurrency: 1,
  request_timeout_ms: 1000,
  max_pages_per_event: 10_000,
} satisfies S3SinkOptions;

const keysOf = (body: Record<string, unknown>, options: Partial<S3SinkOptions> = {}): string[] => {
  const all: S3SinkOptions = { ...OPTIONS, ...options };
  return objectsOf(relayEvent(body), all, compileS3Templates(all).templates).map((o) => o.key);
};

describe('S3 object keys built from payload values', () => {
  it('keeps a traversing job id, NUL bytes and scrape ids "." / ".." inside one segment each', () => {
    const keys = keysOf({
      success: true,
      type: 'crawl.page',
      id: 'crawl/../../../other-tenant/x\u0000y',
      data: ['.', '..', 'ok'].map((scrapeId) => ({ markdown: 'm', metadata: { url: 'https://e.com', scrapeId } })),
    });
    expect(keys).toEqual([
      'crawl/crawl%2F..%2F..%2F..%2Fother-tenant%2Fx%00y/%2E.md',
      'crawl/crawl%2F..%2F..%2F..%2Fother-tenant%2Fx%00y/%2E..md',
      'crawl/crawl%2F..%2F..%2F..%2Fother-tenant%2Fx%00y/ok.md',
    ]);
    for (const key of keys) expect(key.split('/').every((s) => s !== '.' && s !== '..' && !s.includes('\u0000'))).toBe(true);
  });

  it('encodes values the same way as the file sink, in a custom key and the event key', () => {
    const body = { success: true, type: 'crawl.completed', id: 'j-uni-é😀', data: [], metadata: { tenant: '../t' } };
    expect(keysOf(body, { event_key: 'x/{{metadata.tenant}}/{{id}}.json' })).toEqual(['x/%2E.%2Ft/j-uni-%C3%A9%F0%9F%98%80.json']);
  });
});

describe('S3 objects of an event with many pages', () => {
  const pages = (n: number) => ({
    success: true,
    type: 'crawl.page',
    id: 'j',
    data: Array.from({ length: n }, (_, i) => ({ markdown: 'm', metadata: { url: 'https://e.com', scrapeId: `s${i}` } })),
  });

  it('refuses, as a dead letter with its count, an event over max_pages_per_event; takes one at the bound', () => {
    expect(keysOf(pages(3), { max_pages_per_event: 3 })).toEqual(['crawl/j/s0.md', 'crawl/j/s1.md', 'crawl/j/s2.md']);
    expect(() => keysOf(pages(4), { max_pages_per_event: 3 })).toThrow(new PermanentError('event has 4 elements of data, over max_pages_per_event (3)'));
  });
});
