import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/relay.js';
import { PRUNE_WINDOW } from './history.js';
import { SqliteStore } from './store.js';

const HOUR = 3_600_000;
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('walks a backlog of old pending events a window at a time, giving ingress the event loop in between', async () => {
  const tmp = tempDir('relay-prune-');
  let clock = 1_000_000;
  const store = new SqliteStore({ dir: join(tmp.dir, 'q'), maxBytes: 1 << 30, dedupeWindowSeconds: 0, history: { retentionMs: HOUR, maxBytes: 1 << 30 }, now: () => clock });
  cleanups.push(tmp.cleanup, () => store.close());
  const put = (jobId: string, sink: string) => store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: null, body: Buffer.from('{}'), sinks: [sink] });
  // Three windows of old events a paused sink waits for, then one delivered (kept) event.
  await Promise.all(Array.from({ length: 3 * PRUNE_WINDOW }, (_, i) => put(`backlog-${i % 10}`, 'slow')));
  const { eventId: kept } = await put('done', 'hook');
  const [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
  await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id] }]);
  clock += HOUR + 1;

  const order: string[] = [];
  const pruning = store.history.prune().then((n) => order.push(`pruned ${n}`));
  await put('arriving', 'hook').then(() => order.push(store.storedEvents() === 3 * PRUNE_WINDOW + 2 ? 'enqueued, kept event still there' : 'enqueued after the walk'));
  await pruning;
  expect(order).toEqual(['enqueued, kept event still there', 'pruned 1']);
  expect(await store.history.get(kept!)).toBeUndefined();
  expect(store.counters().get('slow')?.pending).toBe(3 * PRUNE_WINDOW);
});
