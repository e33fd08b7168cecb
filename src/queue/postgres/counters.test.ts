import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { CounterDeltas, CounterSnapshot } from './counters.js';

/** A pool whose reads answer the given sums once `release` is called, as a slow refresh would. */
function slowPool(used: number) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const pool = {
    query: async (sql: string) => {
      await gate;
      return { rows: sql.includes('queue_usage') ? [{ bytes: used }] : [{ sink: 'hook', pending: 1, pending_bytes: used, dead_letters: 0, oldest: 1 }] };
    },
  } as unknown as pg.Pool;
  return { pool, release };
}

describe('CounterSnapshot', () => {
  it('keeps a commit applied while a refresh was reading, instead of the sums that may miss it', async () => {
    const snapshot = new CounterSnapshot();
    const { pool, release } = slowPool(100);
    const refreshing = snapshot.refresh(pool);
    const deltas = new CounterDeltas();
    deltas.usedBytes += 50;
    snapshot.apply(deltas, 0);
    release();
    await refreshing;
    expect(snapshot.usedBytes()).toBe(50);

    // With nothing applied meanwhile, the sums are taken.
    const quiet = slowPool(100);
    const next = snapshot.refresh(quiet.pool);
    quiet.release();
    await next;
    expect(snapshot.usedBytes()).toBe(100);
  });

  it('takes the sums anyway after three refreshes in a row overlapped commits, so other replicas are seen under steady load', async () => {
    const snapshot = new CounterSnapshot();
    for (let round = 1; round <= 3; round++) {
      const { pool, release } = slowPool(1000);
      const refreshing = snapshot.refresh(pool);
      snapshot.apply(new CounterDeltas(), 0);
      release();
      await refreshing;
      expect(snapshot.usedBytes()).toBe(round < 3 ? 0 : 1000);
    }
  });
});
