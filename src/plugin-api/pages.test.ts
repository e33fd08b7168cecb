import { describe, expect, it } from 'vitest';
import { PermanentError } from './errors.js';
import { boundedPagesOf, checkPageCount } from './pages.js';

const eventWith = (count: number) => ({
  payload: { success: true, type: 'crawl.page', id: 'j', metadata: {}, data: Array.from({ length: count }, (_, i) => ({ markdown: `p${i}` })) },
});

describe('max_pages_per_event', () => {
  it('lets an event of exactly the bound through', () => {
    expect(boundedPagesOf(eventWith(3), 3)).toHaveLength(3);
  });

  it('refuses one page more with a PermanentError saying how many and the bound', () => {
    expect(() => boundedPagesOf(eventWith(30_000), 10_000)).toThrow(new PermanentError('event has 30000 pages, over max_pages_per_event (10000)'));
    expect(() => boundedPagesOf(eventWith(30_000), 10_000)).toThrow(PermanentError);
    expect(() => checkPageCount(5, 4, 'elements of data')).toThrow('event has 5 elements of data, over max_pages_per_event (4)');
  });
});
