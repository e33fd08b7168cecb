/**
 * Per-page cost of the file sink: one event of N tiny pages written by the sink itself
 * (no HTTP, no queue), as `max_pages_per_event` bounds it. Prints pages/s and CPU µs per page.
 *
 *   npm run bench:pages -- [pages=10000] [markdownBytes=40]
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import fileSink from '../src/sinks/file/index.js';
import type { BatchSink, RelayEvent } from '../src/plugin-api/types.js';
import { printResult } from './lib.js';

const count = Number(process.argv[2] ?? 10_000);
const markdownBytes = Number(process.argv[3] ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-pages-'));
try {
  const payload = {
    success: true,
    type: 'crawl.page',
    id: 'bench-job',
    metadata: {},
    data: Array.from({ length: count }, (_, i) => ({
      markdown: 'x'.repeat(markdownBytes),
      metadata: { url: `https://example.com/${i}`, scrapeId: `scrape-${i}`, statusCode: 200 },
    })),
  };
  const raw = Buffer.from(JSON.stringify(payload));
  const event: RelayEvent = {
    deliveryId: '1', eventId: '1', source: 'bench', receivedAt: new Date(), attempt: 1,
    type: payload.type, jobId: payload.id, success: true, payload, raw,
  };
  const sink = await fileSink.create(
    { dir: join(dir, 'out'), jsonl: 'events.jsonl', markdown: true, max_pages_per_event: count },
    { name: 'bench', logger: pino({ level: 'silent' }), configDir: dir },
  );
  await sink.connect?.(new AbortController().signal);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await (sink as BatchSink).write([event], new AbortController().signal);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const written = readdirSync(join(dir, 'out', 'pages', 'crawl', 'bench-job')).length;
  printResult('file sink, one event of many pages', {
    pages: written,
    'body KiB': Math.round(raw.length / 1024),
    's': Number(seconds.toFixed(2)),
    'pages/s': Math.round(written / seconds),
    'CPU µs/page': Math.round((used.user + used.system) / written),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
