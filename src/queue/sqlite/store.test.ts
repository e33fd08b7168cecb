import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedLane, EnqueueItem } from '../store.js';
import { openSqliteStore, type SqliteStore } from './store.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';

let dir: string;
let cleanup: () => void;
let clock = 1_000_000;
let store: SqliteStore;

const open = (maxBytes = 1 << 30): SqliteStore =>
  openSqliteStore({ dir, maxBytes, dedupeWindowSeconds: 3600, now: () => clock });

export function item(jobId: string, n: number, sinks: string[] = ['s']): EnqueueItem {
  const body = Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', id: jobId, data: [], n }));
  return { source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: `${jobId}:${n}`, body, sinks };
}

/** "A1", "B2" … for each delivery of the lanes, in the order handed out. */
const order = (lanes: readonly ClaimedLane[]): string[] =>
  lanes.flatMap((lane) =>
    lane.deliveries.map((d) => {
      const p = JSON.parse(d.body.toString()) as { id: string; n: number };
      return `${p.id}${p.n}`;
    }),
  );

const all = { lanes: 100, events: 100, bytes: 1 << 30 };
const claimAll = (sink = 's') => store.claim(sink, all);
const deliverAll = async (lanes: readonly ClaimedLane[]) =>
  store.settle(lanes.map((lane) => ({ lane, delivered: lane.deliveries.map((d) => d.id) })));

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  clock = 1_000_000;
  store = open();
});

afterEach(async () => {
  await store.close();
  cleanup();
});

describe('enqueue', () => {
  it('is on disk when it resolves: another connection reads it', async () => {
    const result = await store.enqueue(item('A', 1));
    expect(result).toEqual({ eventId: 1, duplicate: false, parked: [] });
    const other = open();
    try {
      expect(order(await other.claim('s', all))).toEqual(['A1']);
    } finally {
      await other.close();
    }
  });

  it('commits concurrent enqueues in one transaction and tells listeners once it is durable', async () => {
    const told: string[][] = [];
    store.onEnqueued((sinks) => told.push([...sinks]));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.enqueue(item('A', i, ['s', 't']))));
    expect(results.every((r) => r.eventId !== null)).toBe(true);
    expect(store.commits).toBe(1);
    expect(told).toEqual([['s', 't']]);
    expect(order(await claimAll())).toHaveLength(50);
  });

  it('stores one delivery per routed sink and none for an unrouted event', async () => {
    await store.enqueue(item('A', 1, ['s', 't']));
    expect((await store.enqueue(item('A', 2, []))).eventId).toBeNull();
    expect(order(await claimAll('s'))).toEqual(['A1']);
    expect(order(await claimAll('t'))).toEqual(['A1']);
  });

  it('forgets a dedupe key once the window has passed', async () => {
    await store.enqueue(item('A', 1));
    expect((await store.enqueue(item('A', 1))).duplicate).toBe(true);
    clock += 3600 * 1000 + 1;
    expect(await store.pruneDedupe()).toBe(1);
    expect((await store.enqueue(item('A', 1))).duplicate).toBe(false);
  });

  it('accepts a key again once the window has passed, even before it is pruned', async () => {
    await store.enqueue(item('A', 1));
    clock += 3600 * 1000;
    expect((await store.enqueue(item('A', 1))).duplicate).toBe(false);
    expect((await store.enqueue(item('A', 1))).duplicate).toBe(true);
  });

  it('refuses with RELAY_ERR_QUEUE_FULL once the queue holds max_bytes', async () => {
    await store.close();
    store = open(64 * 1024);
    const big = (n: number): EnqueueItem => ({ ...item('A', n), body: Buffer.alloc(16 * 1024, 120) });
    let refused: unknown;
    for (let n = 0; n < 20 && !refused; n++) {
      await store.enqueue(big(n)).catch((err: unknown) => (refused = err));
    }
    expect(refused).toMatchObject({ code: 'RELAY_ERR_QUEUE_FULL', statusCode: 503 });
    expect(store.writable().ready).toBe(false);
  });
});

describe('lanes', () => {
  it('hands out lanes oldest head first, each lane in arrival order', async () => {
    for (const [job, n] of [['A', 1], ['B', 1], ['A', 2]] as const) await store.enqueue(item(job, n));
    const lanes = await claimAll();
    expect(lanes.map((l) => l.jobId)).toEqual(['A', 'B']);
    expect(order(lanes)).toEqual(['A1', 'A2', 'B1']);
  });

  it('does not hand out a claimed lane again until it is settled', async () => {
    await store.enqueue(item('A', 1));
    const [lane] = await claimAll();
    await store.enqueue(item('A', 2));
    await store.enqueue(item('B', 1));
    expect(order(await claimAll())).toEqual(['B1']);
    await store.settle([{ lane: lane!, delivered: [lane!.deliveries[0]!.id] }]);
    expect(order(await claimAll())).toEqual(['A2']);
  });

  it('retries a lane from its first failure and holds the rest of the job, not other jobs', async () => {
    for (const [job, n] of [['A', 1], ['A', 2], ['A', 3], ['B', 1]] as const) await store.enqueue(item(job, n));
    const [a, b] = await claimAll();
    const [a1, a2] = a!.deliveries;
    await store.settle([
      { lane: a!, delivered: [a1!.id], failure: { id: a2!.id, error: 'boom', retryAt: clock + 5000, countAttempt: true } },
      { lane: b!, delivered: [b!.deliveries[0]!.id] },
    ]);
    await store.enqueue(item('A', 4));
    await store.enqueue(item('B', 2));
    expect(order(await claimAll())).toEqual(['B2']);
    expect(await store.nextDueAt('s')).toBe(clock + 5000);
    clock += 5000;
    const again = await claimAll();
    expect(order(again)).toEqual(['A2', 'A3', 'A4']);
    expect(again[0]!.deliveries.map((d) => d.attempts)).toEqual([1, 0, 0]);
  });

  it('does not count an attempt for a failure that says so (abort at shutdown, not connected)', async () => {
    await store.enqueue(item('A', 1));
    const [a] = await claimAll();
    await store.settle([{ lane: a!, delivered: [], failure: { id: a!.deliveries[0]!.id, error: 'aborted', retryAt: clock, countAttempt: false } }]);
    expect((await claimAll())[0]!.deliveries[0]!.attempts).toBe(0);
  });

  it('dead-letters a failed delivery and goes on with the next of its lane', async () => {
    for (const n of [1, 2]) await store.enqueue(item('A', n));
    const [a] = await claimAll();
    await store.settle([{ lane: a!, delivered: [], failure: { id: a!.deliveries[0]!.id, error: 'HTTP 400', dead: true } }]);
    expect(order(await claimAll())).toEqual(['A2']);
    expect((await store.deadLetters.list()).map((d) => [d.jobId, d.lastError, d.attempts])).toEqual([['A', 'HTTP 400', 1]]);
  });

  it('spreads a claim over lanes and keeps to the byte limit past the first delivery', async () => {
    for (let n = 0; n < 10; n++) await store.enqueue(item('A', n));
    for (let n = 0; n < 2; n++) await store.enqueue(item('B', n));
    expect(order(await store.claim('s', { lanes: 2, events: 6, bytes: 1 << 30 }))).toEqual(['A0', 'A1', 'A2', 'B0', 'B1']);
    await store.close();
    store = open();
    expect(order(await store.claim('s', { lanes: 10, events: 10, bytes: 1 }))).toEqual(['A0']);
  });

  it('ignores the settlement of a claim it no longer holds', async () => {
    await store.enqueue(item('A', 1));
    const [a] = await claimAll();
    await store.parkSinksExcept(new Set(), () => 'sink removed');
    await store.settle([{ lane: a!, delivered: [a!.deliveries[0]!.id] }]);
    expect(await store.deadLetters.list()).toHaveLength(1);
  });

  it('removes an event once every sink has it', async () => {
    await store.enqueue(item('A', 1, ['s', 't']));
    const count = (): number => (store.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    await deliverAll(await claimAll('s'));
    expect(count()).toBe(1);
    await deliverAll(await claimAll('t'));
    expect(count()).toBe(0);
  });

  it('tells listeners which events a settle removed, once no sink and no dead letter needs them', async () => {
    const removed: number[][] = [];
    store.onEventsRemoved((ids) => removed.push([...ids]));
    const a = await store.enqueue(item('A', 1, ['s', 't']));
    const b = await store.enqueue(item('B', 1, ['s']));
    await deliverAll(await claimAll('s'));
    expect(removed).toEqual([[b.eventId]]);
    const [lane] = await claimAll('t');
    await store.settle([{ lane: lane!, delivered: [], failure: { id: lane!.deliveries[0]!.id, error: 'HTTP 400', dead: true } }]);
    // A's body stays for its dead letter: not removed.
    expect(removed).toEqual([[b.eventId]]);
    expect(a.eventId).not.toBeNull();
  });
});

describe('a lane in backoff costs nothing to read', () => {
  it('claims visit the due lanes only, however long the lane in backoff', async () => {
    const backlog = 100_000;
    // One crawl whose first page failed, 100k pages behind it, in one transaction.
    await store.enqueue(item('crawl', 0));
    const [head] = await claimAll();
    await store.settle([{ lane: head!, delivered: [], failure: { id: head!.deliveries[0]!.id, error: 'HTTP 503', retryAt: clock + 60_000, countAttempt: true } }]);
    await Promise.all(Array.from({ length: backlog }, (_, n) => store.enqueue({ ...item('crawl', n + 1), dedupeKey: null })));
    for (let n = 0; n < 5; n++) await store.enqueue(item(`other${n}`, 0));

    const before = store.lanesVisited;
    const lanes = await store.claim('s', { lanes: 10, events: 10, bytes: 1 << 30 });
    expect(order(lanes)).toEqual(['other00', 'other10', 'other20', 'other30', 'other40']);
    expect(store.lanesVisited - before).toBe(5);
    expect(store.counters().get('s')).toMatchObject({ pending: backlog + 6 });
    expect(await store.nextDueAt('s')).toBe(clock + 60_000);
  });
});

describe('counters', () => {
  it('follows enqueue, settle, dead letters and replay, and survives a reopen', async () => {
    for (const [job, n] of [['A', 1], ['A', 2], ['B', 1]] as const) await store.enqueue(item(job, n));
    const size = item('A', 1).body.length;
    expect(store.counters().get('s')).toEqual({ pending: 3, pendingBytes: 3 * size, oldestCreatedAt: clock, deadLetters: 0 });
    const [a, b] = await claimAll();
    clock += 10;
    await store.settle([
      { lane: a!, delivered: [a!.deliveries[0]!.id] },
      { lane: b!, delivered: [], failure: { id: b!.deliveries[0]!.id, error: 'x', dead: true } },
    ]);
    expect(store.counters().get('s')).toEqual({ pending: 1, pendingBytes: size, oldestCreatedAt: 1_000_000, deadLetters: 1 });
    await store.close();
    store = open();
    expect(store.counters().get('s')).toEqual({ pending: 1, pendingBytes: size, oldestCreatedAt: 1_000_000, deadLetters: 1 });
    expect(await store.deadLetters.replay({})).toBe(1);
    expect(store.counters().get('s')).toMatchObject({ pending: 2, pendingBytes: 2 * size, deadLetters: 0 });
  });
});

describe('per-sink bound', () => {
  const size = item('A', 1).body.length;

  it('parks deliveries to a full sink as dead letters, other sinks unaffected', async () => {
    store.setSinkLimits(new Map([['s', { maxPendingBytes: 2 * size, whenFull: 'dead_letter' as const }]]));
    const results = [];
    for (let n = 1; n <= 3; n++) results.push(await store.enqueue(item('A', n, ['s', 't'])));
    expect(results.map((r) => r.parked)).toEqual([[], [], ['s']]);
    expect(order(await claimAll('s'))).toEqual(['A1', 'A2']);
    expect(order(await claimAll('t'))).toEqual(['A1', 'A2', 'A3']);
    const [letter] = await store.deadLetters.list();
    expect(letter).toMatchObject({ sink: 's', jobId: 'A', attempts: 0 });
    expect(letter!.lastError).toMatch(/over its max_pending_bytes/);
    expect(store.counters().get('s')).toMatchObject({ pending: 2, deadLetters: 1 });
  });

  it('refuses the whole event with RELAY_ERR_QUEUE_SINK_FULL under when_full: reject, and takes it once there is room', async () => {
    store.setSinkLimits(new Map([['s', { maxPendingBytes: size, whenFull: 'reject' as const }]]));
    await store.enqueue(item('A', 1, ['s', 't']));
    await expect(store.enqueue(item('A', 2, ['s', 't']))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_SINK_FULL', statusCode: 503 });
    expect(order(await claimAll('t'))).toEqual(['A1']);
    await deliverAll(await claimAll('s'));
    // Not taken as a duplicate: the refused event left no dedupe key.
    expect((await store.enqueue(item('A', 2, ['s', 't']))).duplicate).toBe(false);
  });
});

describe('parking sinks no longer configured', () => {
  it('moves every pending delivery of the other sinks to dead letters with the reason, replayable later', async () => {
    for (const n of [1, 2]) await store.enqueue(item('A', n, ['gone', 'kept']));
    const parked = await store.parkSinksExcept(new Set(['kept']), (sink) => `sink "${sink}" is no longer configured`);
    expect(parked).toEqual(new Map([['gone', 2]]));
    expect(await claimAll('gone')).toEqual([]);
    expect(order(await claimAll('kept'))).toEqual(['A1', 'A2']);
    expect((await store.deadLetters.list()).map((d) => [d.sink, d.lastError])).toEqual([
      ['gone', 'sink "gone" is no longer configured'],
      ['gone', 'sink "gone" is no longer configured'],
    ]);
    expect(store.counters().get('gone')).toMatchObject({ pending: 0, pendingBytes: 0, deadLetters: 2 });
    expect(await store.deadLetters.replay({ sink: 'gone' })).toBe(2);
    expect(order(await claimAll('gone'))).toEqual(['A1', 'A2']);
  });
});

describe('dead letters', () => {
  it('lists, shows, replays with the same delivery id, and drops', async () => {
    await store.enqueue(item('A', 1));
    await store.enqueue(item('B', 1));
    const [a, b] = await claimAll();
    const aId = a!.deliveries[0]!.id;
    await store.settle([
      { lane: a!, delivered: [], failure: { id: aId, error: 'HTTP 410', dead: true } },
      { lane: b!, delivered: [], failure: { id: b!.deliveries[0]!.id, error: 'HTTP 400', dead: true } },
    ]);
    expect(await claimAll()).toEqual([]);
    const letters = store.deadLetters;
    expect((await letters.list()).map((l) => [l.jobId, l.lastError, l.attempts])).toEqual([
      ['A', 'HTTP 410', 1],
      ['B', 'HTTP 400', 1],
    ]);
    expect(await letters.list({ jobId: 'B' })).toHaveLength(1);
    expect(await letters.list({ limit: 1 })).toHaveLength(1);
    expect(JSON.parse((await letters.get(aId))!.body.toString()).id).toBe('A');

    const told: string[][] = [];
    store.onEnqueued((sinks) => told.push([...sinks]));
    expect(await letters.replay({ jobId: 'A' })).toBe(1);
    expect(told).toEqual([['s']]);
    const replayed = await claimAll();
    expect(replayed.flatMap((l) => l.deliveries.map((d) => [d.id, d.attempts]))).toEqual([[aId, 0]]);

    expect(await letters.drop({ sink: 's' })).toBe(1);
    expect(await letters.list()).toHaveLength(0);
    const events = (store.db.prepare('SELECT job_id FROM events').all() as Array<{ job_id: string }>).map((e) => e.job_id);
    expect(events).toEqual(['A']);
  });

  it('replays in chunks, reporting progress', async () => {
    for (let n = 0; n < 5; n++) await store.enqueue(item(`J${n}`, 0));
    await store.parkSinksExcept(new Set(), () => 'gone');
    const progress: number[] = [];
    expect(await store.deadLetters.replayInChunks({}, 2, (done) => progress.push(done))).toBe(5);
    expect(progress).toEqual([2, 4, 5]);
  });

  it('expires dead letters that failed before the retention cut-off, and their events', async () => {
    await store.enqueue(item('A', 1));
    await store.parkSinksExcept(new Set(), () => 'gone');
    clock += 1000;
    await store.enqueue(item('B', 1));
    await store.parkSinksExcept(new Set(), () => 'gone');
    expect(await store.deadLetters.expire(clock)).toBe(1);
    expect((await store.deadLetters.list()).map((l) => l.jobId)).toEqual(['B']);
    expect(store.counters().get('s')).toMatchObject({ deadLetters: 1 });
    const events = (store.db.prepare('SELECT job_id FROM events').all() as Array<{ job_id: string }>).map((e) => e.job_id);
    expect(events).toEqual(['B']);
  });
});

describe('another process on the same queue (dlq CLI beside a running relay)', () => {
  it('counters follow what the other connection changed', async () => {
    await store.enqueue(item('A', 1));
    await store.parkSinksExcept(new Set(), () => 'gone');
    const cli = open();
    try {
      expect(await cli.deadLetters.replay({})).toBe(1);
    } finally {
      await cli.close();
    }
    expect(store.counters().get('s')).toMatchObject({ pending: 1, deadLetters: 0 });
    expect(order(await claimAll())).toEqual(['A1']);
  });
});

describe('bulk maintenance', () => {
  // 7.7 s for one expiry of 200k dead letters, every webhook waiting meanwhile: chunks, the event loop running between.
  it('parks, replays, drops and expires in chunks: an enqueue issued meanwhile commits before each ends', async () => {
    const fill = () => Promise.all(Array.from({ length: 2000 }, (_, i) => store.enqueue({ ...item(`J${i}`, 1), dedupeKey: null })));
    await fill();
    const order: string[] = [];
    const during = async (name: string, task: Promise<unknown>): Promise<void> => {
      const acked = store.enqueue({ ...item('other', 1, ['t']), dedupeKey: null }).then(() => order.push(`${name}: enqueue`));
      await task.then(() => order.push(`${name}: done`));
      await acked;
    };
    await during('park', store.parkSinksExcept(new Set(), () => 'gone'));
    expect(store.counters().get('s')).toMatchObject({ pending: 0, deadLetters: 2000 });
    await during('replay', store.deadLetters.replay({}));
    expect(store.counters().get('s')).toMatchObject({ pending: 2000, deadLetters: 0 });
    await store.parkSinksExcept(new Set(['t']), () => 'gone');
    await during('drop', store.deadLetters.drop({ since: 0 }));
    await fill();
    await store.parkSinksExcept(new Set(['t']), () => 'gone');
    await during('expire', store.deadLetters.expire(clock + 1));
    expect(order).toEqual(['park: enqueue', 'park: done', 'replay: enqueue', 'replay: done', 'drop: enqueue', 'drop: done', 'expire: enqueue', 'expire: done']);
    expect(await store.deadLetters.list()).toEqual([]);
  });
});

describe('a claim that fails midway', () => {
  it('keeps none of the lanes it had taken: they are claimed again once the store reads', async () => {
    await store.enqueue(item('A', 1));
    await store.enqueue(item('B', 1));
    await store.enqueue(item('B', 2));
    // The read of B's later events fails (an I/O error), after lane A was taken.
    const laneAfter = (store as unknown as { lanes: { stmt: { laneAfter: { all: () => unknown } } } }).lanes.stmt.laneAfter;
    const all = laneAfter.all;
    laneAfter.all = () => {
      throw new Error('disk I/O error');
    };
    await expect(claimAll()).rejects.toThrow('disk I/O error');
    laneAfter.all = all;
    expect(order(await claimAll())).toEqual(['A1', 'B1', 'B2']);
  });
});

describe('a commit that fails', () => {
  it('is refused with RELAY_ERR_QUEUE_UNAVAILABLE and leaves the counters as they were', async () => {
    await store.enqueue(item('A', 1));
    store.db.exec(`CREATE TRIGGER refuse BEFORE UPDATE ON lanes BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`);
    await expect(store.enqueue(item('A', 2))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
    expect(store.counters().get('s')).toMatchObject({ pending: 1 });
    store.db.exec('DROP TRIGGER refuse');
    await store.enqueue(item('A', 2));
    expect(store.counters().get('s')).toMatchObject({ pending: 2 });
    expect(order(await claimAll())).toEqual(['A1', 'A2']);
  });

  it('makes the queue not ready until a write succeeds: the next commit, or a probe a few seconds on', async () => {
    store.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON lanes BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`);
    await expect(store.enqueue(item('A', 1))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
    expect(store.writable()).toEqual({ ready: false, error: 'the last commit failed: disk I/O error' });
    store.db.exec('DROP TRIGGER refuse');
    expect(store.writable().ready).toBe(false);
    await store.enqueue(item('A', 1));
    expect(store.writable()).toEqual({ ready: true, error: null });

    store.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON lanes BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`);
    await expect(store.enqueue(item('B', 1))).rejects.toMatchObject({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE' });
    clock += 5_000;
    // No webhook comes (out of the load balancer's rotation): readiness tries a write itself.
    expect(store.writable()).toEqual({ ready: true, error: null });
  });
});

describe('a batch settle', () => {
  it('records each attempt in order, moves the lane past a failure, and keeps history only once no sink waits', async () => {
    await store.close();
    store = openSqliteStore({ dir, maxBytes: 1 << 30, dedupeWindowSeconds: 3600, history: { retentionMs: 3_600_000, maxBytes: 1 << 30 }, now: () => clock });
    for (let n = 1; n <= 4; n++) await store.enqueue(item('A', n, ['s', 't']));
    const [lane] = await claimAll();
    const [d1, d2, d3] = lane!.deliveries;
    const attempt = (d: typeof d1, outcome: 'delivered' | 'failed', error: string | null) => ({ deliveryId: d!.id, eventId: d!.eventId, at: clock, durationMs: 7, outcome, statusCode: outcome === 'failed' ? 503 : null, error });
    const attempts = [attempt(d1, 'delivered', null), attempt(d2, 'delivered', null), attempt(d3, 'failed', 'it said "no"\nthen ✗')];
    await store.settle([{ lane: lane!, delivered: [d1!.id, d2!.id], attempts, failure: { id: d3!.id, error: 'it said "no"', retryAt: clock + 500, countAttempt: true } }]);

    const detail = await store.history.get(d3!.eventId);
    expect(detail?.attempts).toEqual([{ deliveryId: d3!.id, eventId: d3!.eventId, sink: 's', at: clock, durationMs: 7, outcome: 'failed', statusCode: 503, error: 'it said "no"\nthen ✗' }]);
    expect((await store.history.get(d1!.eventId))?.attempts.map((a) => a.outcome)).toEqual(['delivered']);
    // Sink t still waits for every event: nothing is history yet, and s's lane waits out its backoff.
    expect(store.history.historyBytes()).toBe(0);
    expect(store.counters().get('s')).toMatchObject({ pending: 2, pendingBytes: d3!.body.length + lane!.deliveries[3]!.body.length });
    expect(await claimAll()).toEqual([]);
    clock += 500;
    expect(order(await claimAll())).toEqual(['A3', 'A4']);

    await deliverAll(await claimAll('t'));
    // Events 1 and 2 are no sink's any more: kept (within retention) and counted as history.
    expect(store.history.historyBytes()).toBe(d1!.body.length + d2!.body.length);
    expect(store.storedEvents()).toBe(4);
  });

  it('without history, removes the events no sink waits for and says which', async () => {
    const removed: number[] = [];
    store.onEventsRemoved((ids) => removed.push(...ids));
    for (let n = 1; n <= 3; n++) await store.enqueue(item('A', n, n === 2 ? ['s', 't'] : ['s']));
    await deliverAll(await claimAll());
    expect(removed.sort()).toEqual([1, 3]);
    expect(store.storedEvents()).toBe(1);
    expect(store.counters().get('s')).toMatchObject({ pending: 0, pendingBytes: 0 });
  });
});
