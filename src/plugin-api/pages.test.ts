import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { pagesOf, pageToMarkdown } from './pages.js';

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
});
