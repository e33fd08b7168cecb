/**
 * What the ingress depth and unsafe-key check (src/ingress/json-depth.ts) costs next to JSON.parse, on a
 * 10 MiB page (one long string: nearly nothing) and on 100,000 small objects (the worst
 * shape: every container is visited). Run: npx tsx bench/json-depth.ts
 */
import { readFileSync } from 'node:fs';
import { assertSafeJson } from '../src/ingress/json-depth.js';

const page = JSON.parse(readFileSync(new URL('../samples/crawl.page.json', import.meta.url), 'utf8')) as { data: Array<Record<string, unknown>> };
const shapes: Array<[string, unknown]> = [
  ['10 MiB page', { ...page, data: [{ ...page.data[0], markdown: 'x'.repeat(10 * 1024 * 1024) }] }],
  ['100k link objects', { ...page, data: [{ ...page.data[0], links: Array.from({ length: 100_000 }, (_, i) => ({ href: `https://e.com/${i}`, rel: ['a'] })) }] }],
];

const msPerRun = (run: () => void, runs = 10): number => {
  run(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) run();
  return Number(process.hrtime.bigint() - start) / 1e6 / runs;
};

for (const [name, value] of shapes) {
  const text = JSON.stringify(value);
  const parsed: unknown = JSON.parse(text);
  const parse = msPerRun(() => JSON.parse(text));
  const depth = msPerRun(() => assertSafeJson(parsed));
  console.log(`${name} (${(text.length / 1048576).toFixed(1)} MiB): JSON.parse ${parse.toFixed(2)} ms, depth check ${depth.toFixed(3)} ms = ${((100 * depth) / parse).toFixed(1)}% of the parse`);
}
