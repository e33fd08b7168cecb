import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeadLetters } from './dead-letters.js';
import { Queue, type EnqueueItem } from './queue.js';
import { tempDir } from '../../test/helpers/relay.js';

let dir: string;
let cleanup: () => void;
let clock = 1_000_000;
let queue: Queue;

const open = (maxBytes = 1 << 30): Queue => new Queue({ dir, maxBytes, dedupeWindowSeconds: 3600, now: () => clock });

function item(jobId: string, n: number, sinks: string[] = ['s']): EnqueueItem {
  const body = Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', id: jobId, data: [], n }));
  return { source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: `${jobId}:${n}`, body, sinks };
}

const order = (rows: Array<{ body: Buffer }>): string[] =>
  rows.map((r) => {
    const p = JSON.parse(r.body.toString()) as { id: string; n: number };
    return `${p.id}${p.n}`;
  });

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  clock = 1_000_000;
  queue = open();
});

afterEach(() => {
  queue.close();
  cleanup();
});

describe('enqueue', () => {
  it('is on disk when it resolves: another connection reads it', async () => {
    const result = await queue.enqueue(item('A', 1));
    expect(result).toEqual({ eventId: 1, duplicate: false });
    const other = open();
    try {
      expect(other.nextBatch('s', 10)).toHaveLength(1);
    } finally {
      other.close();
    }
  });

  it('commits concurrent enqueues in one transaction', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.enqueue(item('A', i))));
    expect(results.every((r) => r.eventId !== null)).toBe(true);
    expect(queue.commits).toBe(1);
    expect(queue.nextBatch('s', 100)).toHaveLength(50);
  });

  it('stores one delivery per routed sink and none for an unrouted event', async () => {
    await queue.enqueue(item('A', 1, ['s', 't']));
    expect((await queue.enqueue(item('A', 2, []))).eventId).toBeNull();
    expect(queue.nextBatch('s', 10)).toHaveLength(1);
    expect(queue.nextBatch('t', 10)).toHaveLength(1);
  });

  it('forgets a dedupe key once the window has passed', async () => {
    await queue.enqueue(item('A', 1));
    expect((await queue.enqueue(item('A', 1))).duplicate).toBe(true);
    clock += 3600 * 1000 + 1;
    expect(queue.pruneDedupe()).toBe(1);
    expect((await queue.enqueue(item('A', 1))).duplicate).toBe(false);
  });

  it('refuses with RELAY_ERR_QUEUE_FULL once the queue holds max_bytes', async () => {
    queue.close();
    queue = open(64 * 1024);
    const big = (n: number): EnqueueItem => ({ ...item('A', n), body: Buffer.alloc(16 * 1024, 120) });
    let refused: unknown;
    for (let n = 0; n < 20 && !refused; n++) {
      await queue.enqueue(big(n)).catch((err: unknown) => (refused = err));
    }
    expect(refused).toMatchObject({ code: 'RELAY_ERR_QUEUE_FULL', statusCode: 503 });
  });
});

describe('delivery order and retries', () => {
  it('hands out deliveries in arrival order', async () => {
    for (const [job, n] of [['A', 1], ['B', 1], ['A', 2]] as const) await queue.enqueue(item(job, n));
    expect(order(queue.nextBatch('s', 10))).toEqual(['A1', 'B1', 'A2']);
  });

  it('holds back a job behind its retried delivery, but not other jobs', async () => {
    for (const [job, n] of [['A', 1], ['B', 1], ['A', 2]] as const) await queue.enqueue(item(job, n));
    const [a1, b1, a2] = queue.nextBatch('s', 10);
    queue.settle('s', {
      delivered: [b1!.id],
      retry: [
        { id: a1!.id, jobId: 'A', at: clock + 5000, error: 'boom', countAttempt: true },
        { id: a2!.id, jobId: 'A', at: clock + 5000, error: null, countAttempt: false },
      ],
      dead: [],
    });
    await queue.enqueue(item('A', 3));
    await queue.enqueue(item('B', 2));
    expect(order(queue.nextBatch('s', 10))).toEqual(['B2']);
    expect(queue.nextDueAt('s')).toBe(clock + 5000);
    clock += 5000;
    const again = queue.nextBatch('s', 10);
    expect(order(again)).toEqual(['A1', 'A2', 'A3', 'B2']);
    expect(again[0]!.attempts).toBe(1);
    expect(again[1]!.attempts).toBe(0);
  });

  it('reads, settles and dead-letters without scanning or sorting a backlog', async () => {
    for (let n = 0; n < 300; n++) await queue.enqueue(item(`J${n % 7}`, n));
    // The plans of the very statements the queue runs per batch or per delivery.
    const { stmt } = queue as unknown as { stmt: Record<string, { source: string }> };
    for (const name of ['batch', 'nextDue', 'delivered', 'retry', 'block', 'dead', 'gcEvent']) {
      const source = stmt[name]!.source;
      const params = source.split('?').length - 1;
      const plan = (queue.db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...Array.from({ length: params }, () => 1)) as Array<{ detail: string }>)
        .map((r) => r.detail)
        .join('\n');
      expect(plan, name).not.toMatch(/\bSCAN\b|TEMP B-TREE/);
    }
    // Walked in id order through deliveries_by_sink, not read and sorted via deliveries_due.
    expect(order(queue.nextBatch('s', 3))).toEqual(['J00', 'J11', 'J22']);
  });

  it('removes an event once every sink has it', async () => {
    await queue.enqueue(item('A', 1, ['s', 't']));
    const count = (): number => (queue.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    queue.settle('s', { delivered: queue.nextBatch('s', 1).map((r) => r.id), retry: [], dead: [] });
    expect(count()).toBe(1);
    queue.settle('t', { delivered: queue.nextBatch('t', 1).map((r) => r.id), retry: [], dead: [] });
    expect(count()).toBe(0);
  });
});

describe('dead letters', () => {
  it('parks a delivery with its last error, replays it with the same delivery id, and drops it', async () => {
    await queue.enqueue(item('A', 1));
    await queue.enqueue(item('B', 1));
    const [a, b] = queue.nextBatch('s', 10);
    queue.settle('s', { delivered: [], retry: [], dead: [{ id: a!.id, error: 'HTTP 410' }, { id: b!.id, error: 'HTTP 400' }] });
    expect(queue.nextBatch('s', 10)).toHaveLength(0);

    const letters = new DeadLetters(queue.db, () => clock);
    expect(letters.list().map((l) => [l.id, l.jobId, l.lastError, l.attempts])).toEqual([
      [a!.id, 'A', 'HTTP 410', 1],
      [b!.id, 'B', 'HTTP 400', 1],
    ]);
    expect(letters.list({ jobId: 'B' })).toHaveLength(1);
    expect(JSON.parse(letters.get(a!.id)!.body.toString()).id).toBe('A');
    expect(queue.stats().dead.get('s')).toBe(2);

    expect(letters.replay({ jobId: 'A' })).toBe(1);
    const replayed = queue.nextBatch('s', 10);
    expect(replayed.map((r) => [r.id, r.attempts])).toEqual([[a!.id, 0]]);

    expect(letters.drop({ sink: 's' })).toBe(1);
    expect(letters.list()).toHaveLength(0);
    const events = (queue.db.prepare('SELECT job_id FROM events').all() as Array<{ job_id: string }>).map((e) => e.job_id);
    expect(events).toEqual(['A']);
  });
});
