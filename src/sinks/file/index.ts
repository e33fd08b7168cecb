import { mkdir, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineSink, pageKey, Type, type Static, pagesOf, pageToMarkdown, PermanentError, type RelayEvent, type WriteResult } from '../../plugin-api/index.js';
import { PageWriter, type PageFile } from './page-writer.js';

/** The file sink's options: the schema validated at load, and (Static) their type. */
const FILE_OPTIONS_SCHEMA = Type.Object(
  {
    /** Folder everything goes under; relative to the config file. */
    dir: Type.String({ minLength: 1 }),
    /** JSON Lines file of every event, inside `dir`; null to write none. */
    jsonl: Type.Unsafe<string | null>({ type: ['string', 'null'], default: 'events.jsonl' }),
    /** One markdown file per page for events whose `data` holds pages. */
    markdown: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export type FileSinkOptions = Static<typeof FILE_OPTIONS_SCHEMA>;

/** `crawl.page` → `crawl`; job ids are made safe as one path segment. */
function segment(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';
}

function jsonLine(event: RelayEvent): string {
  const relay = { delivery_id: event.deliveryId, source: event.source, received_at: event.receivedAt.toISOString() };
  return `${JSON.stringify({ ...event.payload, _relay: relay })}\n`;
}

function pageFiles(root: string, event: RelayEvent, index: number): PageFile[] {
  const group = segment(event.type.split('.')[0] ?? 'events');
  return pagesOf(event).map((page) => ({
    index,
    path: join(root, 'pages', group, segment(event.jobId), `${pageKey(page)}.md`),
    text: pageToMarkdown(page, event),
  }));
}

/**
 * Batch-native for throughput: the pages of a batch are written by a worker thread (each
 * via a temporary file renamed into place, so a reader never sees half a page), then one
 * JSON Lines append with one fdatasync for the batch. A page that cannot be written fails its
 * event alone: that event's line and those of later events of its job are left out.
 */
export default defineSink({
  type: 'file',
  configSchema: FILE_OPTIONS_SCHEMA,
  create(options, ctx) {
    const root = resolve(ctx.configDir, options.dir);
    const pages = new PageWriter();

    return {
      async connect() {
        await mkdir(root, { recursive: true });
      },
      async write(batch, signal): Promise<WriteResult> {
        const failed = new Map<number, unknown>();
        if (options.markdown) {
          const files = batch.flatMap((event, index) => pageFiles(root, event, index));
          for (const [index, err] of await pages.write(files, signal)) {
            failed.set(index, new PermanentError(`page file could not be named: ${err.message}`));
          }
        }
        // A job's events after its first failure are not delivered: no line for them.
        const stopped = new Set<string>();
        const lines: string[] = [];
        batch.forEach((event, index) => {
          if (failed.has(index)) stopped.add(event.jobId);
          if (!stopped.has(event.jobId)) lines.push(jsonLine(event));
        });
        if (options.jsonl !== null && lines.length > 0) {
          const handle = await open(join(root, options.jsonl), 'a');
          try {
            await handle.write(lines.join(''));
            await handle.datasync();
          } finally {
            await handle.close();
          }
        }
        ctx.logger.debug({ count: lines.length, failed: failed.size }, 'events written');
        return { failed: [...failed].map(([index, error]) => ({ index, error })) };
      },
      async close() {
        await pages.close();
      },
    };
  },
});
