/**
 * Page writer A/B: what handing a batch of pages to the file sink's worker costs the main
 * thread (the synchronous part of PageWriter.write: encoding and posting), for two builds
 * in alternation, in one process. Batches of 100 pages of ~5 KB, as bench:shipped makes.
 * Prints µs per page of the main thread, median and spread over the rounds.
 *
 *   npx tsx bench/page-writer-ab.ts a/dist,b/dist [rounds=7] [batches=50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crawlPage, median, printResult } from './lib.js';

const builds = (process.argv[2] ?? '').split(',').filter(Boolean);
const rounds = Number(process.argv[3] ?? 7);
const batches = Number(process.argv[4] ?? 50);
if (builds.length === 0) throw new Error('usage: bench/page-writer-ab.ts a/dist,b/dist [rounds] [batches]');

interface Writer {
  write(pages: Array<{ index: number; path: string; text: string }>, signal: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}
const writers = await Promise.all(
  builds.map(async (dist) => {
    const { PageWriter } = (await import(pathToFileURL(resolve(dist, 'sinks/file/page-writer.js')).href)) as { PageWriter: new () => Writer };
    return new PageWriter();
  }),
);
const dir = mkdtempSync(join(tmpdir(), 'relay-bench-pw-'));
const texts = Array.from({ length: 100 }, (_, i) => (JSON.parse(crawlPage('job', i).body) as { data: Array<{ markdown: string }> }).data[0]!.markdown);
const results = builds.map(() => [] as number[]);
let seq = 0;
try {
  for (let round = 0; round < rounds; round++) {
    for (const [b, writer] of writers.entries()) {
      let spent = 0;
      for (let n = 0; n < batches; n++) {
        const pages = texts.map((text, i) => ({ index: i, path: join(dir, `b${b}`, `p${seq++}.md`), text }));
        const started = performance.now();
        const written = writer.write(pages, new AbortController().signal);
        spent += performance.now() - started;
        await written;
      }
      results[b]!.push((spent * 1000) / (batches * texts.length));
    }
  }
} finally {
  await Promise.all(writers.map((w) => w.close()));
  rmSync(dir, { recursive: true, force: true });
}
builds.forEach((dist, b) => {
  const us = results[b]!;
  printResult('page writer A/B', {
    build: dist,
    rounds,
    'main-thread µs/page median': Number(median(us).toFixed(2)),
    'min–max': `${Math.min(...us).toFixed(2)}–${Math.max(...us).toFixed(2)}`,
    'load avg 1 min': loadavg()[0]!.toFixed(1),
  });
});
