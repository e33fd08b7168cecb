import {
  boundedPagesOf,
  compileTemplate,
  encodePathSegment,
  pageToMarkdown,
  type RelayEvent,
  type Template,
} from '../../plugin-api/index.js';
import type { S3SinkOptions } from './options.js';

export interface S3Templates {
  key: Template;
  eventKey: Template;
  metadata: Array<[string, Template]>;
}

export interface S3Object {
  key: string;
  body: string | Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

/** Compiles the sink's templates; problems come back with the option they belong to. */
export function compileS3Templates(options: S3SinkOptions): { templates: S3Templates; problems: Array<{ path: string[]; message: string }> } {
  const problems: Array<{ path: string[]; message: string }> = [];
  // Values from the payload become path segments (no `..`, NUL or `/`), as in the file sink.
  const compile = (path: string[], source: string, scope: 'event' | 'item', encode?: (value: string) => string): Template => {
    const compiled = compileTemplate(source, scope, encode);
    if (typeof compiled === 'string') {
      problems.push({ path, message: compiled });
      return compileTemplate('') as Template;
    }
    return compiled;
  };
  return {
    templates: {
      key: compile(['key'], options.key, 'item', encodePathSegment),
      eventKey: compile(['event_key'], options.event_key, 'event', encodePathSegment),
      metadata: Object.entries(options.metadata).map(([name, source]) => [name, compile(['metadata', name], source, 'event')]),
    },
    problems,
  };
}

/** S3 user metadata must be US-ASCII: anything else is percent-encoded. */
export function asciiMetadata(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/**
 * The objects one event becomes: a markdown file per page (format markdown), or the
 * event as JSON (format json, and events that carry no page). Throws when a template
 * does not resolve for this event.
 */
export function objectsOf(event: RelayEvent, options: S3SinkOptions, templates: S3Templates): S3Object[] {
  const metadata: Record<string, string> = {
    'firecrawl-job-id': asciiMetadata(event.jobId),
    'firecrawl-event-type': asciiMetadata(event.type),
    'relay-delivery-id': event.deliveryId,
  };
  for (const [name, template] of templates.metadata) metadata[name] = asciiMetadata(template.renderOrThrow({ event }));

  const pages = options.format === 'markdown' ? boundedPagesOf(event, options.max_pages_per_event) : [];
  const data = event.payload.data;
  if (pages.length > 0 && Array.isArray(data)) {
    return pages.map((page) => ({
      key: templates.key.renderOrThrow({ event, item: data[page.index], index: page.index }),
      body: pageToMarkdown(page, event),
      contentType: options.content_type ?? 'text/markdown; charset=utf-8',
      metadata: page.url ? { ...metadata, 'firecrawl-url': asciiMetadata(page.url) } : metadata,
    }));
  }
  return [
    {
      key: templates.eventKey.renderOrThrow({ event }),
      body: event.raw,
      contentType: options.format === 'json' && options.content_type ? options.content_type : 'application/json',
      metadata,
    },
  ];
}
