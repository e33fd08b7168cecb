import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { defineSink, encodePathSegment, pageKey, pagesOf, pageToMarkdown, rawWithRelay, type RelayEvent } from '../../plugin-api/index.js';

export interface FileSinkOptions {
  /** Folder everything goes under; relative to the config file. */
  dir: string;
  /** JSON Lines file of every event, inside `dir`; null to write none. */
  jsonl: string | null;
  /** One markdown file per page for events whose `data` holds pages. */
  markdown: boolean;
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
    },
  },
  create(options, ctx) {
    const root = resolve(ctx.configDir, options.dir);
    return {
      async connect() {
        await mkdir(root, { recursive: true });
      },
      async write(batch) {
        // Pages first: a page file exists by the time its JSON line says it was delivered.
        if (options.markdown) {
          for (const event of batch) {
            const group = encodePathSegment(event.type.split('.')[0] ?? 'events');
            for (const page of pagesOf(event)) {
              const path = join(root, 'pages', group, encodePathSegment(event.jobId), `${pageKey(page)}.md`);
              await writeAtomically(path, pageToMarkdown(page, event));
            }
          }
        }
        if (options.jsonl !== null) {
          const handle = await open(join(root, options.jsonl), 'a');
          try {
            await handle.write(batch.map(jsonLine).join(''));
            await handle.datasync();
          } finally {
            await handle.close();
          }
        }
        ctx.logger.debug({ count: batch.length }, 'events written');
      },
    };
  },
});
