import { createHash } from 'node:crypto';
import { PermanentError } from './errors.js';
import { encodePathSegment } from './path-segment.js';
import type { TInteger } from '@sinclair/typebox';
import type { RelayEvent } from './types.js';

/** A scraped page as crawl.page / batch_scrape.page events carry it in `data`. */
export interface Page {
  /** Position in the event's `data` array. */
  index: number;
  markdown: string | undefined;
  url: string | undefined;
  title: string | undefined;
  description: string | undefined;
  statusCode: number | undefined;
  scrapeId: string | undefined;
  error: string | undefined;
  metadata: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * The pages an event carries: elements of `data` that hold markdown or page metadata.
 * A failed page (`success: false`) still yields what it has, so it is never skipped silently.
 */
export function pagesOf(event: Pick<RelayEvent, 'payload'>): Page[] {
  const data = event.payload.data;
  if (!Array.isArray(data)) return [];
  const pages: Page[] = [];
  data.forEach((element, index) => {
    if (!isObject(element)) return;
    const metadata = isObject(element.metadata) ? element.metadata : {};
    const markdown = typeof element.markdown === 'string' ? element.markdown : undefined;
    const url = str(metadata.url) ?? str(metadata.sourceURL) ?? str(element.url);
    if (markdown === undefined && url === undefined) return;
    pages.push({
      index,
      markdown,
      url,
      title: str(metadata.title),
      description: str(metadata.description),
      statusCode: typeof metadata.statusCode === 'number' ? metadata.statusCode : undefined,
      scrapeId: str(metadata.scrapeId),
      error: str(metadata.error) ?? str(element.error),
      metadata,
    });
  });
  return pages;
}

/** Names the relay forms itself start so; a scrape id that does too has its first character escaped. */
const FORMED = /^(?:url|event)-/;

/**
 * A name for the page that is the same on every retry, in one of three forms that cannot
 * collide: its scrape id as a path segment (see path-segment.ts; one starting with `url-`
 * or `event-` has its first character written `%XX`), else `url-` and a hash of its URL,
 * else `event-<event id>-<index in data>` (unique across the events of a job).
 */
export function pageKey(page: Page, event: Pick<RelayEvent, 'eventId'>): string {
  if (page.scrapeId) {
    const encoded = encodePathSegment(page.scrapeId);
    return FORMED.test(encoded) ? `%${encoded.charCodeAt(0).toString(16).toUpperCase()}${encoded.slice(1)}` : encoded;
  }
  if (page.url) return `url-${createHash('sha256').update(page.url).digest('hex').slice(0, 32)}`;
  return elementKey(event, page.index);
}

/** The name of the element at `index` of an event's `data` that has neither scrape id nor URL. */
export function elementKey(event: Pick<RelayEvent, 'eventId'>, index: number): string {
  return `event-${encodePathSegment(event.eventId)}-${index}`;
}

/** Plain scalars that read back as the same string: no indicator first, no ": " or " #" inside. */
const PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9 _.,:/@%+=?&~()'-]*$/;
const NOT_A_STRING = /^(?:true|false|yes|no|on|off|null|~|\.inf|\.nan)$/i;

/**
 * One front matter value. A JSON string is a valid YAML 1.2 double-quoted scalar, so a
 * value that is not plainly safe is written as one; a general YAML serialiser cost a tenth
 * of the relay's CPU per page for these few flat keys.
 */
function scalar(value: string | number | boolean): string {
  // YAML's own spellings: String() would write "Infinity", which reads back as a string.
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  if (typeof value !== 'string') return String(value);
  const plain = PLAIN.test(value) && !value.includes(': ') && !value.includes(' #') && !value.endsWith(' ') && !value.endsWith(':');
  if (plain && !NOT_A_STRING.test(value) && Number.isNaN(Number(value))) return value;
  // Double quotes inside and nothing to escape: single-quoted reads better (as YAML writers do).
  if (value.includes('"') && !value.includes("'") && !/[\x00-\x1f\x7f\u2028\u2029]/.test(value)) return `'${value}'`;
  return JSON.stringify(value);
}

/** The page as a markdown file a person can open: YAML front matter, then the markdown. */
export function pageToMarkdown(page: Page, event: Pick<RelayEvent, 'payload' | 'receivedAt'>): string {
  const front: Record<string, string | number | boolean | undefined> = {
    url: page.url,
    title: page.title,
    description: page.description,
    status_code: page.statusCode,
    scrape_id: page.scrapeId,
    job_id: event.payload.id,
    event_type: event.payload.type,
    success: event.payload.success,
    error: page.error,
    scraped_at: str(page.metadata.cachedAt) ?? event.receivedAt.toISOString(),
  };
  let yaml = '';
  for (const [key, value] of Object.entries(front)) if (value !== undefined) yaml += `${key}: ${scalar(value)}\n`;
  const body = page.markdown ?? (page.error ? `_No markdown: ${page.error}_\n` : '_No markdown in this event._\n');
  return `---\n${yaml}---\n\n${body.endsWith('\n') ? body : `${body}\n`}`;
}

/** Pages one event may become in a page-splitting sink (a file or an object each). */
export const DEFAULT_MAX_PAGES_PER_EVENT = 10_000;

/**
 * The `max_pages_per_event` option of sinks that write a file, object or message per page:
 * a TypeBox schema (`max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION` in a `Type.Object`),
 * which is also plain JSON Schema.
 */
export const MAX_PAGES_PER_EVENT_OPTION = {
  // What Type.Integer(…) returns, written out so that loading the plugin API loads no TypeBox.
  [Symbol.for('TypeBox.Kind')]: 'Integer',
  type: 'integer',
  minimum: 1,
  default: DEFAULT_MAX_PAGES_PER_EVENT,
} as unknown as TInteger;

/**
 * Throws the PermanentError (dead letter) of an event that would become more than `max`
 * pages: a 32 MiB body of tiny pages is ~800k files, which no retry makes smaller.
 */
export function checkPageCount(count: number, max: number, what = 'pages'): void {
  if (count > max) throw new PermanentError(`event has ${count} ${what}, over max_pages_per_event (${max})`);
}

/**
 * pagesOf, bounded by `max_pages_per_event`: `data`'s length is checked before any page
 * is built (2,000,000 tiny pages would take seconds and gigabytes to build, then be refused).
 */
export function boundedPagesOf(event: Pick<RelayEvent, 'payload'>, max: number): Page[] {
  const data = event.payload.data;
  if (Array.isArray(data)) checkPageCount(data.length, max, 'elements of data');
  return pagesOf(event);
}
