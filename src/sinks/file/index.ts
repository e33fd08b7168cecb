import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { defineSink, pageKey, Type, type Static, pagesOf, pageToMarkdown, PermanentError, type RelayEvent, type WriteResult } from '../../plugin-api/index.js';

/** The file sink's options: the schema validated at load, and (Static) their type. */
const FILE_OPTIONS_SCHEMA = Type.Object(
  {
    /** Folder everything goes under; relative to the config file. */
    dir: Type.String({ minLength: 1 }),
    /** JSON Lines file of every event, inside `dir`; null to write none. */
    jsonl: Type.Unsafe<string | null>({ type: ['string', 'null'], default: 'events.jsonl' }),
    /** One markdown file per page for events whose `data` holds pages. */
    markdown: Type.Boolean({ default: true }),
    /** Page files written at once within a batch. */
    page_concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 32 }),
  },
  { additionalProperties: false },
);

export type FileSinkOptions = Static<typeof FILE_OPTIONS_SCHEMA>;

/** Errors of one file name that no retry can fix (e.g. a page key past the file system's limit). */
const NAME_ERRORS = new Set(['ENAMETOOLONG', 'EINVAL', 'EILSEQ']);

/** `crawl.page` → `crawl`; job ids are made safe as one path segment. */
function segment(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';
}

function jsonLine(event: RelayEvent): string {
  const relay = { delivery_id: event.deliveryId, source: event.source, received_at: event.receivedAt.toISOString() };
  return `${JSON.stringify({ ...event.payload, _relay: relay })}\n`;
}

function pageFiles(root: string, event: RelayEvent): Array<{ path: string; text: string }> {
  const group = segment(event.type.split('.')[0] ?? 'events');
  return pagesOf(event).map((page) => ({
    path: join(root, 'pages', group, segment(event.jobId), `${pageKey(page)}.md`),
    text: pageToMarkdown(page, event),
  }));
}

/** Runs `work` over `items`, at most `limit` at a time, stopping new work once `signal` aborts. */
async function eachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !signal.aborted) await work(items[next++]!);
    }),
  );
}

/**
 * Batch-native for throughput: the pages of a batch are written side by side (each via a
 * temporary file renamed into place, so a reader never sees half a page), then one JSON
 * Lines append with one fdatasync for the batch. A page that cannot be written fails its
 * event alone: that event's line and those of later events of its job are left out.
 */
export default defineSink({
  type: 'file',
  configSchema: FILE_OPTIONS_SCHEMA,
  create(options, ctx) {
    const root = resolve(ctx.configDir, options.dir);
    // Folders made by this process: a page in a known folder costs a write and a rename.
    const folders = new Set<string>();
    let temporaries = 0;

    async function writePage(path: string, text: string, signal: AbortSignal): Promise<void> {
      const folder = dirname(path);
      if (!folders.has(folder)) {
        await mkdir(folder, { recursive: true });
        folders.add(folder);
      }
      const temporary = `${path}.${process.pid}-${temporaries++}.tmp`;
      await writeFile(temporary, text, { signal });
      await rename(temporary, path);
    }

    return {
      async connect() {
        await mkdir(root, { recursive: true });
        folders.clear();
      },
      async write(batch, signal): Promise<WriteResult> {
        const failed = new Map<number, unknown>();
        if (options.markdown) {
          const pages = batch.flatMap((event, index) => pageFiles(root, event).map((page) => ({ index, ...page })));
          await eachLimited(pages, options.page_concurrency, signal, async ({ index, path, text }) => {
            if (failed.has(index)) return;
            try {
              await writePage(path, text, signal);
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code ?? '';
              // A name the file system refuses is this event's own; anything else (disk full,
              // permissions) is the destination's, and fails the batch.
              if (!NAME_ERRORS.has(code)) throw err;
              failed.set(index, new PermanentError(`page file could not be named: ${(err as Error).message}`));
            }
          });
          signal.throwIfAborted();
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
    };
  },
});
