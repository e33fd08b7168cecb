import { describe, expect, it } from 'vitest';
import type { MatchConfig } from '../config/types.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import { compileRouter, type Report } from './router.js';
import { globToRegExp } from './glob.js';
import { sampleEvent } from '../../test/helpers/webhooks.js';

const noProblems: Report = (code, path, args) => {
  throw new Error(`unexpected ${code} at ${path.join('.')}: ${args.join(' ')}`);
};

function matches(match: MatchConfig, event: Record<string, unknown>, source = 'firecrawl'): boolean {
  const router = compileRouter([{ name: 'r', match, to: ['s'] }], noProblems, () => {});
  return router.match(event as FirecrawlPayload, source).routes.length === 1;
}

const page = sampleEvent('crawl.page');
const failedPage = sampleEvent('batch_scrape.page', { success: false, error: 'timeout' });
const notFound = sampleEvent('crawl.page', {
  data: [{ markdown: '# gone', metadata: { url: 'https://example.com/missing', statusCode: 404 } }],
});
const monitorChanged = sampleEvent('monitor.page');
const checkDone = sampleEvent('monitor.check.completed');
const extractFailed = sampleEvent('extract.failed');

describe('routing table', () => {
  const table: Array<[string, MatchConfig, Record<string, unknown>, boolean]> = [
    ['empty match takes everything', {}, page, true],
    ['exact type', { type: 'crawl.page' }, page, true],
    ['exact type, other event', { type: 'crawl.page' }, failedPage, false],
    ['glob crawl.*', { type: 'crawl.*' }, page, true],
    ['glob crawl.* does not take batch_scrape', { type: 'crawl.*' }, failedPage, false],
    ['glob *.failed', { type: '*.failed' }, extractFailed, true],
    ['glob *.completed crosses dots', { type: '*.completed' }, checkDone, true],
    ['glob monitor.* takes nested types', { type: 'monitor.*' }, checkDone, true],
    ['glob with ?', { type: 'crawl.pag?' }, page, true],
    ['list of types', { type: ['extract.failed', 'crawl.page'] }, page, true],
    ['list of types, none matching', { type: ['extract.failed', 'agent.*'] }, page, false],
    ['success: false takes failed pages', { success: false }, failedPage, true],
    ['success: false leaves good pages', { success: false }, page, false],
    ['type and success together', { type: '*.page', success: false }, failedPage, true],
    ['Firecrawl event words', { events: ['page'] }, failedPage, true],
    ['Firecrawl event words, other word', { events: ['completed', 'failed'] }, page, false],
    ['Firecrawl word "completed" takes monitor.check.completed', { events: ['completed'] }, checkDone, true],
    ['where equals on any page', { where: [{ field: 'data[*].metadata.statusCode', equals: 404 }] }, notFound, true],
    ['where equals, no page matches', { where: [{ field: 'data[*].metadata.statusCode', equals: 404 }] }, page, false],
    ['where one_of', { where: [{ field: 'data[0].status', one_of: ['changed', 'new'] }] }, monitorChanged, true],
    ['where not_one_of', { where: [{ field: 'data[0].status', not_one_of: ['changed', 'new'] }] }, monitorChanged, false],
    ['where not_equals', { where: [{ field: 'metadata.environment', not_equals: 'staging' }] }, monitorChanged, true],
    ['where not_equals on a missing field', { where: [{ field: 'metadata.team', not_equals: 'a' }] }, page, true],
    ['where exists', { where: [{ field: 'error', exists: true }] }, extractFailed, true],
    ['where exists: false', { where: [{ field: 'error', exists: false }] }, page, true],
    ['where glob on a url', { where: [{ field: 'data[*].metadata.url', glob: 'https://example.com/*' }] }, page, true],
    ['where glob on a url, other host', { where: [{ field: 'data[*].metadata.url', glob: 'https://other.org/*' }] }, page, false],
    ['where gte on a status code', { where: [{ field: 'data[*].metadata.statusCode', gte: 400 }] }, notFound, true],
    ['where gte, status 200', { where: [{ field: 'data[*].metadata.statusCode', gte: 400 }] }, page, false],
    ['where lt', { where: [{ field: 'data[*].metadata.statusCode', lt: 300 }] }, page, true],
    ['where gt ignores strings', { where: [{ field: 'type', gt: 1 }] }, page, false],
    ['where nested deep equality', { where: [{ field: 'data[0].judgment.meaningful', equals: true }] }, monitorChanged, true],
    [
      'all where conditions must hold',
      {
        where: [
          { field: 'data[*].status', equals: 'changed' },
          { field: 'metadata.environment', equals: 'staging' },
        ],
      },
      monitorChanged,
      false,
    ],
    ['where on a prototype key never matches', { where: [{ field: 'data[0].constructor', exists: true }] }, page, false],
    ['source filter', { source: 'other' }, page, false],
  ];

  it.each(table)('%s', (_name, match, event, expected) => {
    expect(matches(match, event)).toBe(expected);
  });
});

describe('fan-out', () => {
  it('sends an event matched by several routes to each sink once, in route order', () => {
    const router = compileRouter(
      [
        { name: 'pages', match: { type: '*.page' }, to: ['kafka', 'archive'] },
        { name: 'all', match: {}, to: ['archive'] },
        { name: 'failures', match: { success: false }, to: ['slack'] },
        { name: 'monitor', match: { type: 'monitor.*' }, to: ['slack'] },
      ],
      noProblems,
      () => {},
    );
    expect(router.match(failedPage as FirecrawlPayload, 'firecrawl')).toEqual({
      routes: ['pages', 'all', 'failures'],
      sinks: ['kafka', 'archive', 'slack'],
    });
    expect(router.match(checkDone as FirecrawlPayload, 'firecrawl')).toEqual({ routes: ['all', 'monitor'], sinks: ['archive', 'slack'] });
  });
});

describe('globToRegExp', () => {
  it('escapes regular-expression characters', () => {
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
    expect(globToRegExp('https://x.com/(a)').test('https://x.com/(a)')).toBe(true);
  });
});
