import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptRecord, ClaimedLane, QueueStore } from '../../src/queue/store.js';

const HOUR = 3_600_000;

export interface HistoryTarget {
  name: string;
  /** A fresh, empty store (or, with `again`, the one the previous call opened). */
  open(options: { retentionMs: number; now: () => number; again?: boolean; maxBytes?: number; historyMaxBytes?: number }): Promise<QueueStore>;
}

/** History, backfill and paused sinks: the same behaviour from every store. */
export function historyContract(target: HistoryTarget): void {
  describe(`${target.name} store: history`, () => {
    const cleanups: Array<() => void | Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    let clock = 1_000_000;
    const open = async (retentionMs: number, again = false, maxBytes?: number): Promise<QueueStore> => {
      const store = await target.open({ retentionMs, now: () => clock, again, ...(maxBytes ? { maxBytes } : {}) });
      cleanups.push(() => store.close());
      return store;
    };
    const enqueue = (store: QueueStore, jobId: string, sinks = ['hook']) =>
      store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: null, body: Buffer.from(`{"type":"crawl.page","id":"${jobId}"}`), sinks });
    const attempt = (lane: ClaimedLane, outcome: AttemptRecord['outcome'], statusCode: number | null, error: string | null): AttemptRecord => ({
      deliveryId: lane.deliveries[0]!.id,
      eventId: lane.deliveries[0]!.eventId,
      at: clock,
      durationMs: 12,
      outcome,
      statusCode,
      error,
    });

    it('lists a page event with the page URL it was stored with (read at ingress), other events without, whatever the body holds', async () => {
      const store = await open(24 * HOUR);
      const metadata = (url: string) => ({ url });
      const page = (type: string, url: string | null, body: Buffer) =>
        store.enqueue({ source: 'firecrawl', type, jobId: `job-${type}`, dedupeKey: null, body, sinks: ['hook'], url });
      const json = (type: string, url: string) => Buffer.from(JSON.stringify({ type, id: 'j', data: [{ markdown: '"url": "no"', metadata: metadata(url) }] }));
      await page('crawl.page', 'https://a.test/to', json('crawl.page', 'https://a.test/to'));
      // A body PostgreSQL's json refuses (a lone surrogate escape) or that is no JSON at all: listing never parses it.
      await page('batch_scrape.page', 'https://b.test/', Buffer.from('{"type":"batch_scrape.page","id":"j","data":[{"markdown":"\\ud800"}]}'));
      await page('crawl.started', null, Buffer.from('not json'));
      expect((await store.history.list({ oldestFirst: true })).map((e) => [e.type, e.url])).toEqual([
        ['crawl.page', 'https://a.test/to'],
        ['batch_scrape.page', 'https://b.test/'],
        ['crawl.started', null],
      ]);
      const [first] = await store.history.list({ type: 'batch_scrape.page' });
      expect((await store.history.get(first!.id))?.url).toBe('https://b.test/');
    });

    it('lists and backfills by a piece of the page URL (any case; %, _ and \\ match themselves) and by a type prefix', async () => {
      const store = await open(24 * HOUR);
      const stored = (type: string, url: string | null) =>
        store.enqueue({ source: 'firecrawl', type, jobId: `job-${type}`, dedupeKey: null, body: Buffer.from('{}'), sinks: ['hook'], url });
      await stored('crawl.page', 'https://Example.com/a');
      await stored('batch_scrape.page', 'https://other.test/?q=100%_off');
      await stored('crawl.completed', null);
      await stored('crawl.page', 'https://docs.test/example.com-guide\\x');
      await stored('crawlx.page', 'https://example.com/b');
      const listed = async (filter: { url?: string; type?: string }) => (await store.history.list({ ...filter, oldestFirst: true })).map((e) => e.id);
      expect(await listed({ url: 'EXAMPLE.COM' })).toEqual([1, 4, 5]);
      expect(await listed({ url: 'example.com', type: 'crawl.*' })).toEqual([1, 4]);
      expect(await listed({ type: 'crawl.*' })).toEqual([1, 3, 4]);
      expect(await listed({ type: 'batch_*' })).toEqual([2]);
      expect(await listed({ type: 'batch_scrape.page' })).toEqual([2]);
      // The LIKE wildcards a URL holds are no wildcards here.
      expect(await listed({ url: '100%_off' })).toEqual([2]);
      expect(await listed({ url: '100%' })).toEqual([2]);
      expect(await listed({ url: '_' })).toEqual([2]);
      expect(await listed({ url: '%' })).toEqual([2]);
      expect(await listed({ url: '-guide\\x' })).toEqual([4]);
      expect(await listed({ url: 'example.com/c' })).toEqual([]);
      expect(await store.history.backfill('archive', { url: 'example.com/', type: 'crawl.*', since: 0 }, 10, () => undefined)).toBe(1);
      const [lane] = await store.claim('archive', { lanes: 5, events: 5, bytes: 1 << 20 });
      expect(lane!.deliveries.map((d) => d.eventId)).toEqual([1]);
    });

    it('keeps a delivered event with every attempt, in order, and lists it by job and outcome', async () => {
      const store = await open(24 * HOUR);
      const { eventId } = await enqueue(store, 'job-a');
      await enqueue(store, 'job-b');

      let [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
      await store.settle([{ lane: lane!, delivered: [], attempts: [attempt(lane!, 'failed', 503, 'receiver answered HTTP 503')], failure: { id: lane!.deliveries[0]!.id, error: 'receiver answered HTTP 503', retryAt: clock, countAttempt: true } }]);
      expect((await store.history.list({ outcome: 'retrying' })).map((e) => e.jobId)).toEqual(['job-a']);
      clock += 1000;
      [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
      expect(lane!.jobId).toBe('job-a');
      await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id], attempts: [attempt(lane!, 'delivered', 200, null)] }]);

      const detail = await store.history.get(eventId!);
      expect(detail?.sinks).toEqual({ hook: 'delivered' });
      expect(detail?.attempts.map((a) => [a.sink, a.outcome, a.statusCode, a.error])).toEqual([
        ['hook', 'failed', 503, 'receiver answered HTTP 503'],
        ['hook', 'delivered', 200, null],
      ]);
      expect(JSON.parse(detail!.body.toString())).toEqual({ type: 'crawl.page', id: 'job-a' });
      expect((await store.history.list({ jobId: 'job-a' })).map((e) => e.id)).toEqual([eventId]);
      expect((await store.history.list({ sink: 'hook', outcome: 'delivered' })).map((e) => e.jobId)).toEqual(['job-a']);
      expect((await store.history.list({ outcome: 'pending' })).map((e) => e.jobId)).toEqual(['job-b']);
      expect((await store.history.list({ sink: 'hook' })).map((e) => e.jobId)).toEqual(['job-b', 'job-a']);
      expect(await store.history.list({ sink: 'other' })).toEqual([]);
      // Cursor paging: newest first, then what is older than the cursor.
      const [first] = await store.history.list({ limit: 1 });
      expect(first!.jobId).toBe('job-b');
      expect((await store.history.list({ cursor: first!.id })).map((e) => e.jobId)).toEqual(['job-a']);
      expect((await store.history.list({ oldestFirst: true })).map((e) => e.jobId)).toEqual(['job-a', 'job-b']);
      expect((await store.history.list({ oldestFirst: true, cursor: eventId! })).map((e) => e.jobId)).toEqual(['job-b']);
      expect(await store.history.activity(0)).toEqual([{ sink: 'hook', minute: Math.floor(clock / 60_000) * 60_000, delivered: 1, failed: 1 }]);
    });

    it('shows a dead letter that was dropped as dropped, not retrying, and lists it by that outcome', async () => {
      const store = await open(24 * HOUR);
      const { eventId: dead } = await enqueue(store, 'job-dead');
      const { eventId: recovered } = await enqueue(store, 'job-recovered');
      for (const lane of await store.claim('hook', { lanes: 2, events: 2, bytes: 1 << 20 })) {
        const failure = lane.jobId === 'job-dead'
          ? { id: lane.deliveries[0]!.id, error: 'HTTP 400', dead: true as const }
          : { id: lane.deliveries[0]!.id, error: 'HTTP 503', retryAt: clock, countAttempt: true };
        await store.settle([{ lane, delivered: [], attempts: [attempt(lane, 'dead' in failure ? 'dead_lettered' : 'failed', null, failure.error)], failure }]);
      }
      const [again] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
      await store.settle([{ lane: again!, delivered: [again!.deliveries[0]!.id], attempts: [attempt(again!, 'delivered', 200, null)] }]);
      expect((await store.history.get(dead!))?.sinks).toEqual({ hook: 'dead_lettered' });

      expect(await store.deadLetters.drop({ jobId: 'job-dead' })).toBe(1);
      expect((await store.history.get(dead!))?.sinks).toEqual({ hook: 'dropped' });
      expect((await store.history.get(recovered!))?.sinks).toEqual({ hook: 'delivered' });
      expect((await store.history.list({ outcome: 'dropped' })).map((e) => e.id)).toEqual([dead]);
      expect((await store.history.list({ sink: 'hook', outcome: 'dropped' })).map((e) => e.id)).toEqual([dead]);
      expect(await store.history.list({ outcome: 'retrying' })).toEqual([]);
    });

    it('gives kept history way at enqueue, oldest first, before a webhook would be refused for max_bytes', async () => {
      const store = await open(24 * HOUR, false, 1 << 20);
      const page = (n: number) => ({ source: 'firecrawl', type: 'crawl.page', jobId: `j${n}`, dedupeKey: null, body: Buffer.alloc(100_000, 97 + (n % 26)), sinks: ['hook'] });
      const { eventId: waiting } = await store.enqueue(page(0)); // never delivered: never dropped
      const kept: number[] = [];
      for (let n = 1; n <= 25; n++) {
        const { eventId } = await store.enqueue(page(n));
        kept.push(eventId!);
        const lanes = (await store.claim('hook', { lanes: 10, events: 10, bytes: 1 << 30 })).filter((l) => l.jobId !== 'j0');
        await store.settle(lanes.map((lane) => ({ lane, delivered: lane.deliveries.map((d) => d.id) })));
        for (const lane of await store.claim('hook', { lanes: 10, events: 10, bytes: 1 << 30 })) await store.settle([{ lane, delivered: [] }]);
      }
      // 26 pages of 100 kB went into a 1 MiB queue: the oldest delivered ones made room.
      expect(await store.history.get(kept[0]!)).toBeUndefined();
      expect((await store.history.get(kept.at(-1)!))?.jobId).toBe('j25');
      expect((await store.history.get(waiting!))?.sinks).toEqual({ hook: 'pending' });
      expect(store.usedBytes()).toBeLessThanOrEqual(1 << 20);
    });

    it('prunes events and attempts past retention, never what is pending', async () => {
      const store = await open(HOUR);
      const { eventId: delivered } = await enqueue(store, 'job-a');
      const { eventId: pending } = await enqueue(store, 'job-b');
      const [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
      await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id], attempts: [attempt(lane!, 'delivered', 200, null)] }]);
      expect(await store.history.prune()).toBe(0);
      expect(await store.history.get(delivered!)).toBeDefined();

      clock += HOUR + 1;
      expect(await store.history.prune()).toBe(1);
      expect(await store.history.get(delivered!)).toBeUndefined();
      expect(await store.history.activity(0)).toEqual([]);
      expect(await store.history.get(pending!)).toBeDefined();
    });

    it('keeps an event no route matched (no sinks) while history is on, lists it as unrouted, prunes it by age', async () => {
      const store = await open(HOUR);
      const { eventId: unrouted, duplicate } = await enqueue(store, 'job-none', []);
      expect(duplicate).toBe(false);
      expect(unrouted).not.toBeNull();
      await enqueue(store, 'job-routed');
      expect((await store.history.get(unrouted!))?.sinks).toEqual({});
      expect((await store.history.list({ outcome: 'unrouted' })).map((e) => e.id)).toEqual([unrouted]);
      expect((await store.history.list({ jobId: 'job-none' })).map((e) => e.id)).toEqual([unrouted]);
      expect(store.counters().get('hook')?.pending).toBe(1);
      // Backfill reaches it like any stored event.
      expect(await store.history.backfill('archive', { jobId: 'job-none', since: 0 }, 10, () => {})).toBe(1);
      const [lane] = await store.claim('archive', { lanes: 1, events: 1, bytes: 1 << 20 });
      await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id], attempts: [attempt(lane!, 'delivered', 200, null)] }]);
      expect(await store.history.list({ outcome: 'unrouted' })).toEqual([]);
      const { eventId: later } = await enqueue(store, 'job-none-2', []);

      clock += HOUR + 1;
      await store.history.prune();
      expect(await store.history.get(unrouted!)).toBeUndefined();
      expect(await store.history.get(later!)).toBeUndefined();
    });

    it('with history off, stores nothing of an event no route matched', async () => {
      const store = await open(0);
      expect(await enqueue(store, 'job-none', [])).toEqual({ eventId: null, duplicate: false, parked: [] });
      expect(await store.history.list({})).toEqual([]);
    });

    it('keeps the attempts of an event still kept, however old they are (deleted only with their event)', async () => {
      const store = await open(HOUR);
      const { eventId } = await enqueue(store, 'job-slow');
      const [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
      await store.settle([{ lane: lane!, delivered: [], attempts: [attempt(lane!, 'failed', 503, 'HTTP 503')], failure: { id: lane!.deliveries[0]!.id, error: 'HTTP 503', retryAt: clock, countAttempt: true } }]);
      clock += HOUR + 1;
      await store.history.prune();
      expect((await store.history.get(eventId!))?.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([['failed', 503]]);
    });

    it('bounds history by its own bytes: a backlog of pending work never prunes it; delivered events past the bound go oldest first', async () => {
      const store = await target.open({ retentionMs: 24 * HOUR, now: () => clock, historyMaxBytes: 25_000 });
      cleanups.push(() => store.close());
      const body = (n: number) => Buffer.alloc(10_000, 97 + (n % 26));
      const put = (n: number, sinks: string[]) => store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId: `j${n}`, dedupeKey: null, body: body(n), sinks });
      // 40 pending events (400 kB) wait for a paused sink: far over the history bound.
      for (let n = 0; n < 40; n++) await put(n, ['slow']);
      const delivered: number[] = [];
      for (let n = 100; n < 102; n++) {
        delivered.push((await put(n, ['hook'])).eventId!);
        const [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
        await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id] }]);
      }
      await store.history.prune();
      // 20 kB of history is within its 25 kB: both kept, however full the queue is.
      expect(await Promise.all(delivered.map(async (id) => (await store.history.get(id))?.id))).toEqual(delivered);

      // An unrouted event (10 kB) takes history to 30 kB: the oldest kept event goes.
      const { eventId: unrouted } = await put(200, []);
      await store.history.prune();
      expect(await store.history.get(delivered[0]!)).toBeUndefined();
      expect((await store.history.get(delivered[1]!))?.id).toBe(delivered[1]);
      expect((await store.history.get(unrouted!))?.id).toBe(unrouted);
      expect(store.counters().get('slow')?.pending).toBe(40);
    });

    it('with history off, forgets a delivered event at once and records no attempt', async () => {
      const store = await open(0);
      const { eventId } = await enqueue(store, 'job-a');
      const [lane] = await store.claim('hook', { lanes: 1, events: 1, bytes: 1 << 20 });
      await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id], attempts: [attempt(lane!, 'delivered', 200, null)] }]);
      expect(await store.history.get(eventId!)).toBeUndefined();
      expect(await store.history.activity(0)).toEqual([]);
    });

    it('backfills stored events of a filter into another sink, oldest first, with progress', async () => {
      const store = await open(24 * HOUR);
      for (const job of ['job-a', 'job-b', 'job-a']) await enqueue(store, job);
      const progress: Array<[number, number]> = [];
      expect(await store.history.backfill('archive', { jobId: 'job-a', since: 0 }, 1, (done, total) => progress.push([done, total]))).toBe(2);
      expect(progress).toEqual([[1, 2], [2, 2]]);
      const [lane] = await store.claim('archive', { lanes: 5, events: 5, bytes: 1 << 20 });
      expect(lane!.jobId).toBe('job-a');
      expect(lane!.deliveries.map((d) => d.eventId)).toEqual([1, 3]);
      expect(store.counters().get('archive')?.pending).toBe(2);

      // With `accept`, only the events it takes (the routes' choice), read from the stored event.
      const seen: string[] = [];
      const accept = (e: { source: string; jobId: string; body: Buffer }) => (seen.push(`${e.source}:${e.jobId}`), e.jobId === 'job-b');
      expect(await store.history.backfill('pages', { since: 0 }, 2, () => {}, accept)).toBe(1);
      expect(seen).toEqual(['firecrawl:job-a', 'firecrawl:job-b', 'firecrawl:job-a']);
      expect(store.counters().get('pages')?.pending).toBe(1);
    });

    it('keeps a paused sink paused across a restart', async () => {
      const first = await open(0);
      await first.setPaused('hook', true);
      await first.setPaused('other', true);
      await first.setPaused('other', false);
      await first.close();
      expect([...(await (await open(0, true)).pausedSinks())]).toEqual(['hook']);
    });
  });
}
