import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  boundedPagesOf,
  defineSink,
  encodePathSegment,
  MAX_PAGES_PER_EVENT_OPTION,
  pageKey,
  pageToMarkdown,
  PermanentError,
  rawWithRelay,
  type RelayEvent,
  type WriteResult,
} from '../../plugin-api/index.js';

export interface FileSinkOptions {
  /** Folder everything goes under; relative to the config file. */
  dir: string;
  /** JSON Lines file of every event, inside `dir`; null to write none. */
  jsonl: string | null;
  /** One markdown file per page for events whose `data` holds pages. */
  markdown: boolean;
  /** An event with more pages is dead-lettered instead of becoming that many files. */
  max_pages_per_event: number;
}


/** The received bytes (not a re-serialisation: numbers keep every digit) with `_relay` added. */
function jsonLine(event: RelayEvent): string {
  const relay = { delivery_id: event.deliveryId, source: event.source, received_at: event.receivedAt.toISOString() };
  return `${rawWithRelay(event.raw, relay)}\n`;
}

/** Writes `text` to `path` via a temporary file, so a reader never sees half a page. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

export default defineSink<FileSinkOptions>({
  type: 'file',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['dir'],
    properties: {
      dir: { type: 'string', minLength: 1 },
      jsonl: { type: ['string', 'null'], default: 'events.jsonl' },
      markdown: { type: 'boolean', default: true },
      max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION,
    },
  },
  create(options, ctx) {
    const root = resolve(ctx.configDir, options.dir);
    const writePages = async (event: RelayEvent): Promise<void> => {
      // Checked before the first file, so an event over the bound leaves none behind.
      const pages = boundedPagesOf(event, options.max_pages_per_event);
      const group = encodePathSegment(event.type.split('.')[0] ?? 'events');
      for (const page of pages) {
        const path = join(root, 'pages', group, encodePathSegment(event.jobId), `${pageKey(page)}.md`);
        await writeAtomically(path, pageToMarkdown(page, event));
      }
    };
    return {
      async connect() {
        await mkdir(root, { recursive: true });
      },
      async write(batch): Promise<WriteResult> {
        // Pages first: a page file exists by the time its JSON line says it was delivered.
        const failed: Array<{ index: number; error: unknown }> = [];
        const written: RelayEvent[] = [];
        for (const [index, event] of batch.entries()) {
          try {
            if (options.markdown) await writePages(event);
            written.push(event);
          } catch (err) {
            // Past max_pages_per_event: this event is dead-lettered, the others go on.
            if (!(err instanceof PermanentError)) throw err;
            failed.push({ index, error: err });
          }
        }
        if (options.jsonl !== null && written.length > 0) {
          const handle = await open(join(root, options.jsonl), 'a');
          try {
            await handle.write(written.map(jsonLine).join(''));
            await handle.datasync();
          } finally {
            await handle.close();
          }
        }
        ctx.logger.debug({ count: written.length, failed: failed.length }, 'events written');
        return { failed };
      },
    };
  },
});
