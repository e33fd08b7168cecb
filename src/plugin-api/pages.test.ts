import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PermanentError } from './errors.js';
import { boundedPagesOf, checkPageCount, pageKey, pagesOf, pageToMarkdown } from './pages.js';

const eventWith = (count: number) => ({
  payload: { success: true, type: 'crawl.page', id: 'j', metadata: {}, data: Array.from({ length: count }, (_, i) => ({ markdown: `p${i}` })) },
});

describe('max_pages_per_event', () => {
  it('lets an event of exactly the bound through', () => {
    expect(boundedPagesOf(eventWith(3), 3)).toHaveLength(3);
  });

  it('refuses one page more with a PermanentError saying how many and the bound', () => {
    expect(() => boundedPagesOf(eventWith(30_000), 10_000)).toThrow(new PermanentError('event has 30000 elements of data, over max_pages_per_event (10000)'));
    expect(() => boundedPagesOf(eventWith(30_000), 10_000)).toThrow(PermanentError);
    expect(() => checkPageCount(5, 4, 'elements of data')).toThrow('event has 5 elements of data, over max_pages_per_event (4)');
  });

  it('refuses an event over the bound before building any of its pages', () => {
    let read = 0;
    // Each element counts the reads of its metadata, which building a page does.
    const data = Array.from({ length: 5 }, (_, i) => ({ markdown: `p${i}`, get metadata() { read++; return { url: `https://e.com/${i}` }; } }));
    expect(() => boundedPagesOf({ payload: { ...eventWith(0).payload, data } }, 4)).toThrow('event has 5 elements of data, over max_pages_per_event (4)');
    expect(read).toBe(0);
  });
});


describe('page front matter', () => {
  const tricky = [
    'Plain title',
    'Title: with a colon',
    'a # not a comment',
    'ends with a colon:',
    'trailing space ',
    '"quoted" and \'single\'',
    'A: "only double" quotes',
    'line one\n---\nline two',
    '- starts like a list',
    '12345',
    '1e3',
    'true',
    'null',
    '~',
    '* star',
    '{ flow }',
    'ünïcødé — and emoji 🎉',
    'tab\there',
    '\u2028separator',
    'https://example.com/a?b=c&d=e#frag',
  ];

  it.each(tricky)('reads back %j exactly', (title) => {
    const payload = { success: true, type: 'crawl.page', id: 'job: 1', data: [{ markdown: '# x', metadata: { url: 'https://e.com/', title, scrapeId: 's' } }], metadata: {} };
    const [page] = pagesOf({ payload });
    const text = pageToMarkdown(page!, { payload, receivedAt: new Date(0) });
    const front = parse(text.split('\n---\n')[0]!.slice(4)) as Record<string, unknown>;
    expect(front).toEqual({
      url: 'https://e.com/',
      title,
      scrape_id: 's',
      job_id: 'job: 1',
      event_type: 'crawl.page',
      success: true,
      scraped_at: '1970-01-01T00:00:00.000Z',
    });
    expect(text.match(/^---$/gm)).toEqual(['---', '---']);
  });

  // JSON.parse reads 1e999 as Infinity, which String() wrote as the string "Infinity".
  it.each([
    [Number.POSITIVE_INFINITY, '.inf'],
    [Number.NEGATIVE_INFINITY, '-.inf'],
    [Number.NaN, '.nan'],
  ])('writes a status code of %s as the YAML number %s', (statusCode, written) => {
    const payload = { success: true, type: 'crawl.page', id: 'j', data: [{ markdown: '# x', metadata: { url: 'https://e.com/', statusCode } }], metadata: {} };
    const text = pageToMarkdown(pagesOf({ payload })[0]!, { payload, receivedAt: new Date(0) });
    expect(text).toContain(`\nstatus_code: ${written}\n`);
    expect((parse(text.split('\n---\n')[0]!.slice(4)) as Record<string, unknown>).status_code).toBe(statusCode);
  });
});

describe('page names', () => {
  const page = (fields: { scrapeId?: string; url?: string; index?: number }) => ({
    index: fields.index ?? 0, markdown: 'm', url: fields.url, title: undefined, description: undefined,
    statusCode: undefined, scrapeId: fields.scrapeId, error: undefined, metadata: {},
  });
  const event = (eventId: string) => ({ eventId });

  it('a page named by its URL never shares a name with a page whose scrape id is that name', () => {
    const byUrl = pageKey(page({ url: 'https://e.com/a' }), event('1'));
    expect(byUrl).toMatch(/^url-[0-9a-f]{32}$/);
    expect(pageKey(page({ scrapeId: byUrl }), event('1'))).not.toBe(byUrl);
    // The escaped form still decodes to the scrape id.
    expect(decodeURIComponent(pageKey(page({ scrapeId: byUrl }), event('1')))).toBe(byUrl);
    const hashOnly = byUrl.slice('url-'.length);
    expect(pageKey(page({ scrapeId: hashOnly }), event('1'))).not.toBe(byUrl);
  });

  it('pages with neither URL nor scrape id get distinct names across the events of a job', () => {
    const first = pageKey(page({ index: 0 }), event('41'));
    const second = pageKey(page({ index: 0 }), event('42'));
    expect([first, second]).toEqual(['event-41-0', 'event-42-0']);
    expect(pageKey(page({ scrapeId: first }), event('41'))).not.toBe(first);
  });
});
