import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  boundedPagesOf,
  defineSink,
  encodePathSegment,
  MAX_PAGES_PER_EVENT_OPTION,
  pageKey,
  pageToMarkdown,
  PermanentError,
  rawWithRelay,
  Type,
  type RelayEvent,
  type Static,
  type WriteResult,
} from '../../plugin-api/index.js';
import { PageWriter, type PageFile } from './page-writer.js';

/**
 * The file sink's options: the schema validated at load, and (Static) their type. Built on
 * first use: `check` validates with the generated validator and need not load TypeBox.
 */
const fileOptionsSchema = () =>
  Type.Object(
    {
      /** Folder everything goes under; relative to the config file. */
      dir: Type.String({ minLength: 1 }),
      /** JSON Lines file of every event, inside `dir`; null to write none. */
      jsonl: Type.Unsafe<string | null>({ type: ['string', 'null'], default: 'events.jsonl' }),
      /** One markdown file per page for events whose `data` holds pages. */
      markdown: Type.Boolean({ default: true }),
      /** An event with more pages is dead-lettered instead of becoming that many files. */
      max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION,
    },
    { additionalProperties: false },
  );

export type FileSinkOptions = Static<ReturnType<typeof fileOptionsSchema>>;
let optionsSchema: ReturnType<typeof fileOptionsSchema> | undefined;

/** The received bytes (not a re-serialisation: numbers keep every digit) with `_relay` added. */
function jsonLine(event: RelayEvent): string {
  const relay = { delivery_id: event.deliveryId, source: event.source, received_at: event.receivedAt.toISOString() };
  return `${rawWithRelay(event.raw, relay)}\n`;
}

/** An event's page files; throws the PermanentError of an event over `maxPages`, before naming any. */
function pageFiles(root: string, event: RelayEvent, index: number, maxPages: number): PageFile[] {
  const group = encodePathSegment(event.type.split('.')[0] ?? 'events');
  return boundedPagesOf(event, maxPages).map((page) => ({
    index,
    path: join(root, 'pages', group, encodePathSegment(event.jobId), `${pageKey(page, event)}.md`),
    text: pageToMarkdown(page, event),
  }));
}

/** Events rendered (page markdown, JSON line) per turn of the event loop. */
const RENDER_CHUNK = 100;

/**
 * The failed events, and after each the later events of its job (the worker gave them no
 * line): the contract lists every event not delivered, so the relay sees the job stop there.
 */
function withLaterEventsOfTheirJobs(batch: readonly RelayEvent[], failed: ReadonlyMap<number, unknown>): Array<{ index: number; error: unknown }> {
  const stoppedAt = new Map<string, number>();
  const result: Array<{ index: number; error: unknown }> = [];
  batch.forEach((event, index) => {
    const first = stoppedAt.get(event.jobId);
    if (failed.has(index)) {
      result.push({ index, error: failed.get(index) });
      if (first === undefined) stoppedAt.set(event.jobId, index);
    } else if (first !== undefined) {
      result.push({ index, error: new Error(`not written: event ${first} of job ${event.jobId} in this batch failed first`) });
    }
  });
  return result;
}

/**
 * Batch-native for throughput: the pages of a batch are written by a worker thread (each
 * via a temporary file renamed into place, so a reader never sees half a page), then, by
 * the same worker in the same round trip, one JSON Lines append with one fdatasync. A page
 * that cannot be written fails its event alone: that event's line and those of later events
 * of its job are left out.
 */
export default defineSink({
  type: 'file',
  get configSchema() {
    return (optionsSchema ??= fileOptionsSchema());
  },
  // Each batch costs a claim, a round trip to the page writer and a settle, a few turns of an
  // event loop that an ingress burst slows to ~15 ms each: at 100 events a batch delivery fell
  // behind the acks (docs/benchmarks.md, the shipped config). ~5 MB of 5 KB pages a batch.
  deliveryDefaults: { batch_max_events: 1000 },
  create(options, ctx) {
    const root = resolve(ctx.configDir, options.dir);
    const pages = new PageWriter();

    return {
      async connect() {
        await mkdir(root, { recursive: true });
      },
      async write(batch, signal): Promise<WriteResult> {
        const failed = new Map<number, unknown>();
        const files: PageFile[] = [];
        const lines: Array<{ jobId: string; line: string | null }> = [];
        for (let start = 0; start < batch.length; start += RENDER_CHUNK) {
          // Rendering 1,000 pages at once held the event loop ~50 ms: webhooks are answered in between.
          if (start > 0) await new Promise((resolve) => setImmediate(resolve));
          signal.throwIfAborted();
          for (let index = start; index < Math.min(batch.length, start + RENDER_CHUNK); index++) {
            const event = batch[index]!;
            if (options.markdown) {
              try {
                for (const file of pageFiles(root, event, index, options.max_pages_per_event)) files.push(file);
              } catch (err) {
                // Past max_pages_per_event: this event is dead-lettered, the others go on.
                if (!(err instanceof PermanentError)) throw err;
                failed.set(index, err);
              }
            }
            if (options.jsonl !== null) lines.push({ jobId: event.jobId, line: failed.has(index) ? null : jsonLine(event) });
          }
        }
        const journal = options.jsonl === null ? undefined : { path: join(root, options.jsonl), events: lines };
        // One round trip: the pages, then the lines of the events whose pages all exist.
        const written = await pages.write(files, signal, journal);
        for (const [index, err] of written.failed) {
          failed.set(index, new PermanentError(`page file could not be named: ${err.message}`));
        }
        ctx.logger.debug({ count: written.appended, failed: failed.size }, 'events written');
        return { failed: withLaterEventsOfTheirJobs(batch, failed) };
      },
      async close() {
        await pages.close();
      },
    };
  },
});
