import { describe, expect, it } from 'vitest';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import { PayloadCache } from './payload-cache.js';

const payload = (id: string) => ({ success: true, type: 'crawl.page', id, data: [], metadata: {} }) as FirecrawlPayload;

describe('payload cache', () => {
  it('keeps payloads up to its byte bound, dropping the oldest first', () => {
    const cache = new PayloadCache(100);
    cache.set(1, payload('a'), 40);
    cache.set(2, payload('b'), 40);
    cache.set(3, payload('c'), 40);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(2)?.id).toBe('b');
    expect(cache.get(3)?.id).toBe('c');
    cache.set(4, payload('huge'), 1000);
    expect(cache.get(4)).toBeUndefined();
    expect(cache.get(3)?.id).toBe('c');
  });

  it('gives back the bytes of a deleted payload: later ones stay within the bound', () => {
    const cache = new PayloadCache(100);
    cache.set(1, payload('a'), 60);
    cache.delete(1);
    cache.delete(1);
    expect(cache.get(1)).toBeUndefined();
    cache.set(2, payload('b'), 60);
    cache.set(3, payload('c'), 40);
    expect(cache.get(2)?.id).toBe('b');
    expect(cache.get(3)?.id).toBe('c');
  });
});
