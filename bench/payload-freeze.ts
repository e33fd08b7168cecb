/**
 * What handing every sink a frozen payload and its own raw bytes costs per event, against
 * the parse it follows: `tsx bench/payload-freeze.ts` (figures in docs/plugins.md, "Events").
 */
import { deepFreeze } from '../src/delivery/deep-freeze.js';
import { pagesOf } from '../src/plugin-api/pages.js';
import { readOnlyView } from '../src/plugins/read-only-payload.js';

const page = (n: number) => ({
  markdown: 'x'.repeat(20_000),
  metadata: { title: `t${n}`, url: `https://e.com/${n}`, statusCode: 200, scrapeId: `s${n}`, links: Array.from({ length: 50 }, (_, i) => `https://e.com/${n}/${i}`) },
});
const large = Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', id: 'j', data: Array.from({ length: 10 }, (_, n) => page(n)), metadata: {} }));
const small = Buffer.from(JSON.stringify({ success: false, type: 'crawl.failed', id: 'j', error: 'boom', data: [], metadata: {} }));
const N = 2000;

function time(label: string, run: () => unknown): void {
  for (let i = 0; i < 200; i++) run();
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) run();
  console.log(`${label.padEnd(40)} ${(Number(process.hrtime.bigint() - started) / N / 1000).toFixed(1)} µs/event`);
}

for (const [name, body] of [[`crawl.page, ${large.length} bytes`, large], [`crawl.failed, ${small.length} bytes`, small]] as const) {
  console.log(name);
  time('  JSON.parse', () => JSON.parse(body.toString('utf8')));
  time('  JSON.parse + deepFreeze', () => deepFreeze(JSON.parse(body.toString('utf8'))));
  time('  raw copy (Buffer.from)', () => Buffer.from(body));
  // What a plugin pays for the read-only view of the payload (src/plugins/read-only-payload.ts).
  const frozen = deepFreeze(JSON.parse(body.toString('utf8')) as { type: string });
  const event = (payload: object) => ({ type: frozen.type, payload }) as unknown as Parameters<typeof pagesOf>[0];
  time('  JSON.stringify(payload)', () => JSON.stringify(frozen));
  time('  JSON.stringify(payload), plugin view', () => JSON.stringify(readOnlyView(frozen)));
  time('  pagesOf(event) urls', () => pagesOf(event(frozen)).map((p) => p.url));
  time('  pagesOf(event) urls, plugin view', () => pagesOf(event(readOnlyView(frozen))).map((p) => p.url));
}
