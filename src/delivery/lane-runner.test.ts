import { describe, expect, it } from 'vitest';
import { RelayMetrics } from '../metrics.js';
import type { EventSink } from '../plugin-api/types.js';
import type { ClaimedLane, LaneSettlement, StoredDelivery } from '../queue/store.js';
import type { WriteContext } from './context.js';
import { runLane } from './lane-runner.js';

const delivery = (id: number): StoredDelivery => ({
  id,
  eventId: id,
  sink: 'hook',
  jobId: 'j',
  attempts: 0,
  createdAt: 0,
  receivedAt: 0,
  source: 'firecrawl',
  type: 'crawl.page',
  body: Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', id: 'j', data: [{ n: id }] })),
});

describe('runLane', () => {
  it('stops before the next event once the store says another relay took the lane over', async () => {
    const lane: ClaimedLane = { sink: 'hook', jobId: 'j', token: '7', deliveries: [delivery(1), delivery(2), delivery(3)] };
    let lost = false;
    const written: number[] = [];
    const sink = {
      deliver: async (event: { payload: { data: Array<{ n: number }> } }) => {
        written.push(event.payload.data[0]!.n);
        lost = true; // the renewal that ran during this write found the lane taken over
      },
    } as unknown as EventSink;
    const context = {
      config: { name: 'hook', write_timeout_ms: 10_000 },
      metrics: new RelayMetrics(),
      limiter: null,
      shutdown: new AbortController().signal,
      stopping: new AbortController().signal,
      paused: () => false,
      leaseLost: (l: ClaimedLane) => l.token === '7' && lost,
      now: () => 0,
      random: () => 0.5,
    } as unknown as WriteContext;
    const result = await runLane(lane, sink, context);
    expect(written).toEqual([1]);
    expect(result.settlement.delivered).toEqual([1]);
    expect(result.settlement.failure).toBeUndefined();
  });

  it('records each delivered event before writing the next, and leaves the failure to the final settlement', async () => {
    const lane: ClaimedLane = { sink: 'hook', jobId: 'j', token: '1', deliveries: [delivery(1), delivery(2), delivery(3)] };
    const steps: string[] = [];
    const sink = {
      deliver: async (event: { payload: { data: Array<{ n: number }> } }) => {
        const n = event.payload.data[0]!.n;
        steps.push(`write ${n}`);
        if (n === 3) throw new Error('refused');
      },
    } as unknown as EventSink;
    const context = {
      config: { name: 'hook', write_timeout_ms: 10_000, retry: { initial_delay_ms: 10, max_delay_ms: 10, multiplier: 2, max_attempts: 5, max_age_seconds: 60 } },
      metrics: new RelayMetrics(),
      limiter: null,
      shutdown: new AbortController().signal,
      stopping: new AbortController().signal,
      paused: () => false,
      settleHeld: async (s: LaneSettlement) => void steps.push(`settle ${s.delivered.join(',')}${s.hold ? ' (held)' : ''}`),
      now: () => 0,
      random: () => 0.5,
    } as unknown as WriteContext;
    const result = await runLane(lane, sink, context);
    expect(steps).toEqual(['write 1', 'settle 1 (held)', 'write 2', 'settle 2 (held)', 'write 3']);
    expect(result.settledEarly).toBe(2);
    expect(result.settlement.delivered).toEqual([]);
    expect(result.settlement.failure).toMatchObject({ id: 3 });
  });
});
