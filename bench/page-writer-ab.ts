/**
 * Page writer A/B: the file sink's page files written by PageWriter alone, for two builds
 * in alternation, in one process. Batches of 100 pages of ~5 KB, as bench:shipped makes.
 * Prints, median and spread over the rounds: pages/s (wall), process CPU µs per page (all
 * threads), and what handing a batch to the writer costs the main thread (the synchronous
 * part of PageWriter.write) per page.
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
const rates = builds.map(() => [] as number[]);
const cpus = builds.map(() => [] as number[]);
let seq = 0;
try {
  for (let round = 0; round < rounds; round++) {
    for (const [b, writer] of writers.entries()) {
      let spent = 0;
      const cpuBefore = process.cpuUsage();
      const began = performance.now();
      for (let n = 0; n < batches; n++) {
        const pages = texts.map((text, i) => ({ index: i, path: join(dir, `b${b}`, `p${seq++}.md`), text }));
        const started = performance.now();
        const written = writer.write(pages, new AbortController().signal);
        spent += performance.now() - started;
        await written;
      }
      const cpu = process.cpuUsage(cpuBefore);
      rates[b]!.push((batches * texts.length * 1000) / (performance.now() - began));
      cpus[b]!.push((cpu.user + cpu.system) / (batches * texts.length));
      results[b]!.push((spent * 1000) / (batches * texts.length));
    }
  }
} finally {
  await Promise.all(writers.map((w) => w.close()));
  rmSync(dir, { recursive: true, force: true });
}
builds.forEach((dist, b) => {
  const span = (values: number[]): string => `${median(values).toFixed(1)} (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;
  printResult('page writer A/B', {
    build: dist,
    rounds,
    'pages/s median (min–max)': span(rates[b]!),
    'process CPU µs/page median (min–max)': span(cpus[b]!),
    'main thread µs/page to hand a batch over, median (min–max)': span(results[b]!),
    'load avg 1 min': loadavg()[0]!.toFixed(1),
  });
});
