import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimLimits, EnqueueItem, QueueStore } from '../../src/queue/store.js';

export interface StoreOptions {
  maxBytes?: number;
  dedupeWindowSeconds?: number;
  now?: () => number;
}

/**
 * How a suite gets stores: `open` a store on the current location (called again after a
 * close, it must find the same data), `reset` a fresh location before each case.
 */
export interface StoreHarness {
  name: string;
  reset(): Promise<void>;
  open(options?: StoreOptions): Promise<QueueStore>;
}

const ALL: ClaimLimits = { lanes: 100, events: 1000, bytes: 64 * 1024 * 1024 };

export function item(jobId: string, text: string, overrides: Partial<EnqueueItem> = {}): EnqueueItem {
  return { source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: null, body: Buffer.from(text), sinks: ['archive'], ...overrides };
}

/** The behaviour every QueueStore keeps, run against each one. */
export function storeContract(harness: StoreHarness): void {
  describe(`QueueStore contract: ${harness.name}`, () => {
    let clock = 1_700_000_000_000;
    const now = (): number => clock;
    const open: QueueStore[] = [];
    const openStore = async (options: StoreOptions = {}): Promise<QueueStore> => {
      const store = await harness.open({ now, ...options });
      open.push(store);
      return store;
    };
    let store: QueueStore;

    beforeEach(async () => {
      clock = 1_700_000_000_000;
      await harness.reset();
      store = await openStore();
    });
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    const bodies = (lanes: Awaited<ReturnType<QueueStore['claim']>>): string[][] =>
      lanes.map((lane) => lane.deliveries.map((d) => d.body.toString()));

    it('stores one delivery per sink and hands it over with its event', async () => {
      const result = await store.enqueue(item('job-1', '{"a":1}', { sinks: ['archive', 'kafka'] }));
      expect(result).toMatchObject({ duplicate: false, parked: [] });
      expect(result.eventId).toEqual(expect.any(Number));
      const [lane] = await store.claim('kafka', ALL);
      expect(lane).toMatchObject({ sink: 'kafka', jobId: 'job-1' });
      expect(lane!.deliveries).toHaveLength(1);
      expect(lane!.deliveries[0]).toMatchObject({
        eventId: result.eventId,
        sink: 'kafka',
        jobId: 'job-1',
        attempts: 0,
        createdAt: clock,
        receivedAt: clock,
        source: 'firecrawl',
        type: 'crawl.page',
      });
      expect(lane!.deliveries[0]!.body.toString()).toBe('{"a":1}');
    });

    it('stores nothing for an event no route matched', async () => {
      expect(await store.enqueue(item('job-1', 'x', { sinks: [] }))).toEqual({ eventId: null, duplicate: false, parked: [] });
      expect(await store.claim('archive', ALL)).toEqual([]);
      expect(store.counters().get('archive')?.pending ?? 0).toBe(0);
    });

    it('tells listeners which sinks got deliveries, after the commit', async () => {
      const seen: string[][] = [];
      store.onEnqueued((sinks) => seen.push([...sinks].sort()));
      await Promise.all([store.enqueue(item('a', '1', { sinks: ['s1'] })), store.enqueue(item('b', '2', { sinks: ['s2', 's1'] }))]);
      expect(seen.flat().sort()).toEqual(expect.arrayContaining(['s1', 's2']));
      expect(await store.claim('s2', ALL)).toHaveLength(1);
    });

    it('answers a repeated dedupe key as a duplicate within the window, in one commit or across commits', async () => {
      const [first, again] = await Promise.all([
        store.enqueue(item('j', '1', { dedupeKey: 'k1' })),
        store.enqueue(item('j', '1', { dedupeKey: 'k1' })),
      ]);
      expect(first!.duplicate).toBe(false);
      expect(again).toEqual({ eventId: null, duplicate: true, parked: [] });
      expect(await store.enqueue(item('j', '1', { dedupeKey: 'k1' }))).toMatchObject({ duplicate: true });
      expect(await store.enqueue(item('j', '2', { dedupeKey: 'k2' }))).toMatchObject({ duplicate: false });
      const [lane] = await store.claim('archive', ALL);
      expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['1', '2']);
    });

    it('accepts a dedupe key again once the window has passed, and prunes old keys', async () => {
      const windowed = await openStore({ dedupeWindowSeconds: 60 });
      await windowed.enqueue(item('j', '1', { dedupeKey: 'k' }));
      clock += 30_000;
      expect(await windowed.enqueue(item('j', '1', { dedupeKey: 'k' }))).toMatchObject({ duplicate: true });
      clock += 61_000;
      expect(await windowed.enqueue(item('j', '1', { dedupeKey: 'k' }))).toMatchObject({ duplicate: false });
      await windowed.enqueue(item('j', '3', { dedupeKey: 'old' }));
      clock += 61_000;
      expect(await windowed.pruneDedupe()).toBe(2);
    });

    it('claims due lanes oldest head first, each lane in acceptance order, never a lane twice', async () => {
      for (const [job, text] of [['b', 'b1'], ['a', 'a1'], ['b', 'b2'], ['c', 'c1'], ['a', 'a2']] as const) {
        await store.enqueue(item(job, text));
        clock += 1;
      }
      const first = await store.claim('archive', { ...ALL, lanes: 2 });
      expect(first.map((l) => l.jobId)).toEqual(['b', 'a']);
      expect(bodies(first)).toEqual([['b1', 'b2'], ['a1', 'a2']]);
      const second = await store.claim('archive', ALL);
      expect(second.map((l) => l.jobId)).toEqual(['c']);
      expect(await store.claim('archive', ALL)).toEqual([]);
      expect(await store.claim('other-sink', ALL)).toEqual([]);
    });

    it('spreads the event limit over lanes giving each lane its share of the events, and stops at the byte limit past the first', async () => {
      for (const job of ['a', 'b', 'c']) for (let i = 1; i <= 3; i++) await store.enqueue(item(job, `${job}${i}`.padEnd(100, '.')));
      const lanes = await store.claim('archive', { lanes: 10, events: 5, bytes: 1_000_000 });
      expect(bodies(lanes).map((l) => l.map((b) => b.slice(0, 2)))).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1']]);
      for (const lane of lanes) await store.settle([{ lane, delivered: [] }]);

      const small = await store.claim('archive', { lanes: 10, events: 100, bytes: 250 });
      expect(bodies(small).map((l) => l.map((b) => b.slice(0, 2)))).toEqual([['a1', 'a2']]);
      await store.settle(small.map((lane) => ({ lane, delivered: [] })));
      const one = await store.claim('archive', { lanes: 10, events: 100, bytes: 10 });
      expect(bodies(one).map((l) => l.map((b) => b.slice(0, 2)))).toEqual([['a1']]);
    });

    it('removes delivered deliveries, gives the rest of the lane back, and keeps counters', async () => {
      for (let i = 1; i <= 3; i++) await store.enqueue(item('j', `e${i}`));
      expect(store.counters().get('archive')).toMatchObject({ pending: 3, pendingBytes: 6, oldestCreatedAt: clock, deadLetters: 0 });
      const [lane] = await store.claim('archive', { ...ALL, events: 2 });
      await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id] }]);
      expect(store.counters().get('archive')).toMatchObject({ pending: 2, pendingBytes: 4 });
      const [rest] = await store.claim('archive', ALL);
      expect(rest!.deliveries.map((d) => d.body.toString())).toEqual(['e2', 'e3']);
      await store.settle([{ lane: rest!, delivered: rest!.deliveries.map((d) => d.id) }]);
      expect(store.counters().get('archive')).toMatchObject({ pending: 0, pendingBytes: 0, oldestCreatedAt: null });
      expect(await store.claim('archive', ALL)).toEqual([]);
    });

    it('records the deliveries of a held lane one by one and keeps it claimed until its release', async () => {
      for (let i = 1; i <= 3; i++) await store.enqueue(item('j', `e${i}`));
      const [lane] = await store.claim('archive', ALL);
      const [d1, d2] = lane!.deliveries;
      await store.settle([{ lane: lane!, delivered: [d1!.id], hold: true }]);
      expect(store.counters().get('archive')).toMatchObject({ pending: 2, pendingBytes: 4 });
      // Still this writer's: nobody else is handed the rest of the lane meanwhile.
      expect(await store.claim('archive', ALL)).toEqual([]);
      await store.settle([{ lane: lane!, delivered: [d2!.id], hold: true }]);
      await store.settle([{ lane: lane!, delivered: [] }]);
      expect(store.counters().get('archive')).toMatchObject({ pending: 1, pendingBytes: 2 });
      const [rest] = await store.claim('archive', ALL);
      expect(bodies([rest!])).toEqual([['e3']]);
    });

    it('holds a failed lane in backoff without reading it, then retries from its head with the attempt counted', async () => {
      await store.enqueue(item('j', 'first'));
      await store.enqueue(item('j', 'second'));
      await store.enqueue(item('other', 'x'));
      const lanes = await store.claim('archive', ALL);
      const j = lanes.find((l) => l.jobId === 'j')!;
      await store.settle([
        { lane: j, delivered: [], failure: { id: j.deliveries[0]!.id, error: 'HTTP 503', retryAt: clock + 60_000, countAttempt: true } },
        { lane: lanes.find((l) => l.jobId === 'other')!, delivered: [] },
      ]);
      const [other] = await store.claim('archive', ALL);
      expect(other!.jobId).toBe('other');
      await store.settle([{ lane: other!, delivered: other!.deliveries.map((d) => d.id) }]);
      expect(await store.nextDueAt('archive')).toBe(clock + 60_000);
      clock += 60_000;
      const [again] = await store.claim('archive', ALL);
      expect(again!.jobId).toBe('j');
      expect(again!.deliveries.map((d) => [d.body.toString(), d.attempts])).toEqual([
        ['first', 1],
        ['second', 0],
      ]);
      await store.settle([
        { lane: again!, delivered: [], failure: { id: again!.deliveries[0]!.id, error: 'aborted', retryAt: clock, countAttempt: false } },
      ]);
      const [third] = await store.claim('archive', ALL);
      expect(third!.deliveries[0]!.attempts).toBe(1);
    });

    it('parks a delivery that failed for good and goes on with the rest of its lane', async () => {
      const { eventId } = await store.enqueue(item('j', 'poison'));
      await store.enqueue(item('j', 'next'));
      const [lane] = await store.claim('archive', ALL);
      clock += 5;
      await store.settle([{ lane: lane!, delivered: [], failure: { id: lane!.deliveries[0]!.id, error: 'HTTP 400', dead: true } }]);
      const [rest] = await store.claim('archive', ALL);
      expect(rest!.deliveries.map((d) => d.body.toString())).toEqual(['next']);
      const dead = await store.deadLetters.list();
      expect(dead).toEqual([
        {
          id: lane!.deliveries[0]!.id,
          eventId,
          sink: 'archive',
          jobId: 'j',
          type: 'crawl.page',
          attempts: 1,
          createdAt: clock - 5,
          failedAt: clock,
          lastError: 'HTTP 400',
        },
      ]);
      expect((await store.deadLetters.get(dead[0]!.id))!.body.toString()).toBe('poison');
      expect(store.counters().get('archive')).toMatchObject({ pending: 1, deadLetters: 1 });
    });

    it('replays dead letters with their delivery id, in id order within their lanes, and drops and expires them by filter', async () => {
      for (const [job, text] of [['j', 'p1'], ['j', 'p2'], ['k', 'k1']] as const) await store.enqueue(item(job, text));
      const dead: number[] = [];
      for (const lane of await store.claim('archive', ALL)) {
        dead.push(lane.deliveries[0]!.id);
        await store.settle([{ lane, delivered: [], failure: { id: lane.deliveries[0]!.id, error: 'bad', dead: true } }]);
        clock += 1000;
      }
      await store.enqueue(item('j', 'p3'));
      expect((await store.deadLetters.list({ jobId: 'j' })).map((d) => d.jobId)).toEqual(['j']);
      expect(await store.deadLetters.list({ sink: 'nope' })).toEqual([]);
      expect(await store.deadLetters.replay({ jobId: 'j' })).toBe(1);
      const [lane] = await store.claim('archive', ALL);
      expect(lane!.deliveries.map((d) => [d.body.toString(), d.attempts])).toEqual([
        ['p1', 0],
        ['p2', 0],
        ['p3', 0],
      ]);
      expect(lane!.deliveries[0]!.id).toBe(dead[0]);
      expect(store.counters().get('archive')).toMatchObject({ pending: 3, deadLetters: 1 });
      expect(await store.deadLetters.expire(clock - 1000)).toBe(0);
      expect(await store.deadLetters.expire(clock)).toBe(1);
      expect(await store.deadLetters.list()).toEqual([]);
      expect(store.counters().get('archive')).toMatchObject({ deadLetters: 0 });
    });

    it('reports the oldest pending delivery by creation, also after a replay (which keeps the id, created now)', async () => {
      await store.enqueue(item('a', 'a1'));
      clock += 1000;
      await store.enqueue(item('b', 'b1'));
      const [lane] = (await store.claim('archive', ALL)).filter((l) => l.jobId === 'a');
      for (const other of (await store.claim('archive', ALL)).filter((l) => l.jobId !== 'a')) await store.settle([{ lane: other, delivered: [] }]);
      await store.settle([{ lane: lane!, delivered: [], failure: { id: lane!.deliveries[0]!.id, error: 'bad', dead: true } }]);
      clock += 5000;
      expect(await store.deadLetters.replay({})).toBe(1);
      await store.close();
      store = await openStore();
      expect(store.counters().get('archive')).toMatchObject({ pending: 2, oldestCreatedAt: 1_700_000_001_000 });
    });

    it('trims dead letters to a byte budget, oldest first, and frees their events', async () => {
      for (let i = 0; i < 5; i++) await store.enqueue(item(`j${i}`, `e${i}`.padEnd(100, '.')));
      for (const lane of await store.claim('archive', ALL)) {
        await store.settle([{ lane, delivered: [], failure: { id: lane.deliveries[0]!.id, error: 'bad', dead: true } }]);
      }
      const before = store.usedBytes();
      expect(await store.deadLetters.trimToBytes(1000)).toBe(0);
      // Two 100-byte bodies fit in 250 bytes: the three oldest go.
      expect(await store.deadLetters.trimToBytes(250)).toBe(3);
      expect((await store.deadLetters.list()).map((d) => d.jobId)).toEqual(['j3', 'j4']);
      expect(store.counters().get('archive')).toMatchObject({ deadLetters: 2 });
      expect(store.usedBytes()).toBeLessThanOrEqual(before);
    });

    it('replays in chunks with progress, and drops what a filter names', async () => {
      for (let i = 0; i < 5; i++) await store.enqueue(item(`j${i}`, `e${i}`, { type: i < 3 ? 'crawl.page' : 'crawl.failed' }));
      for (const lane of await store.claim('archive', ALL)) {
        await store.settle([{ lane, delivered: [], failure: { id: lane.deliveries[0]!.id, error: 'bad', dead: true } }]);
      }
      expect(await store.deadLetters.drop({ type: 'crawl.failed' })).toBe(2);
      const progress: Array<[number, number]> = [];
      expect(await store.deadLetters.replayInChunks({}, 2, (done, total) => progress.push([done, total]))).toBe(3);
      expect(progress).toEqual([
        [2, 3],
        [3, 3],
      ]);
      expect((await store.claim('archive', ALL)).map((l) => l.jobId).sort()).toEqual(['j0', 'j1', 'j2']);
    });

    it('parks at enqueue for a full sink with when_full: dead_letter, and refuses with when_full: reject', async () => {
      store.setSinkLimits(
        new Map([
          ['archive', { maxPendingBytes: 10, whenFull: 'dead_letter' as const }],
          ['strict', { maxPendingBytes: 10, whenFull: 'reject' as const }],
        ]),
      );
      expect(await store.enqueue(item('j', '0123456789', { sinks: ['archive', 'strict'] }))).toMatchObject({ parked: [] });
      const over = await store.enqueue(item('j', 'more', { sinks: ['archive'] }));
      expect(over).toMatchObject({ duplicate: false, parked: ['archive'] });
      expect(await store.deadLetters.list()).toEqual([expect.objectContaining({ eventId: over.eventId, sink: 'archive', attempts: 0 })]);
      await expect(store.enqueue(item('j', 'more', { sinks: ['strict'] }))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_SINK_FULL' });
      expect(store.counters().get('archive')).toMatchObject({ pending: 1, deadLetters: 1 });
      expect(store.counters().get('strict')).toMatchObject({ pending: 1 });
    });

    it('parks every pending delivery of a sink no longer configured', async () => {
      await store.enqueue(item('j', '1', { sinks: ['archive', 'gone'] }));
      await store.enqueue(item('k', '2', { sinks: ['gone'] }));
      const parked = await store.parkSinksExcept(new Set(['archive']), (sink) => `sink "${sink}" was removed`);
      expect([...parked]).toEqual([['gone', 2]]);
      expect(await store.claim('gone', ALL)).toEqual([]);
      expect((await store.deadLetters.list()).map((d) => [d.sink, d.lastError])).toEqual([
        ['gone', 'sink "gone" was removed'],
        ['gone', 'sink "gone" was removed'],
      ]);
      expect(store.counters().get('gone')).toMatchObject({ pending: 0, deadLetters: 2 });
      expect(await store.claim('archive', ALL)).toHaveLength(1);
    });

    it('refuses events once max_bytes is used, and frees the room as deliveries complete', async () => {
      const bounded = await openStore({ maxBytes: 1 << 20 });
      const page = 'x'.repeat(300_000);
      let accepted = 0;
      while (bounded.writable().ready && accepted < 10) {
        await bounded.enqueue(item('j', page));
        accepted++;
      }
      expect(accepted).toBeGreaterThanOrEqual(2);
      expect(bounded.writable()).toMatchObject({ ready: false, error: expect.stringContaining('full') });
      const full = bounded.usedBytes();
      expect(full).toBeGreaterThanOrEqual(1 << 20);
      await expect(bounded.enqueue(item('j', 'z'))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_FULL' });
      const [lane] = await bounded.claim('archive', ALL);
      await bounded.settle([{ lane: lane!, delivered: lane!.deliveries.map((d) => d.id) }]);
      expect(bounded.usedBytes()).toBeLessThan(full);
      expect(bounded.writable().ready).toBe(true);
    });

    it('checks max_bytes before each event of a group, not once per group: passed by one body at most', async () => {
      const bounded = await openStore({ maxBytes: 1_000_000 });
      const page = 'x'.repeat(300_000);
      // One event-loop turn: one group commit.
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => bounded.enqueue(item(`j${i}`, page))));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
      expect(results[4]).toMatchObject({ reason: { code: 'RELAY_ERR_QUEUE_FULL' } });
    });

    it('commits what is waiting on close; a store opened after finds it', async () => {
      const pending = store.enqueue(item('j', 'late'));
      await store.close();
      expect((await pending).eventId).toEqual(expect.any(Number));
      const reopened = await openStore();
      const [lane] = await reopened.claim('archive', ALL);
      expect(lane!.deliveries.map((d) => d.body.toString())).toEqual(['late']);
      await expect(store.enqueue(item('j', 'after'))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
    });
  });
}
