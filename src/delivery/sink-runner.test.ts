import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SinkConfig } from '../config/types.js';
import { RelayMetrics } from '../metrics.js';
import { NotConnectedError, RetryableError } from '../plugin-api/errors.js';
import type { RelayEvent, Sink, WriteResult } from '../plugin-api/types.js';
import { openSqliteStore, type SqliteStore } from '../queue/sqlite/store.js';
import { tempDir } from '../../test/helpers/relay.js';
import { until } from '../../test/helpers/sinks.js';
import { SinkRunner } from './sink-runner.js';

const CONFIG: SinkConfig = {
  name: 's',
  type: 'test',
  retry: { initial_delay_ms: 20, max_delay_ms: 100, multiplier: 2, jitter: 0, max_attempts: 10, max_age_seconds: 3600 },
  batch_max_events: 100,
  batch_max_bytes: 1 << 20,
  batch_linger_ms: 0,
  write_timeout_ms: 5000,
  max_in_flight: 8,
  rate_limit: null,
  max_pending_bytes: 1 << 30,
  when_full: 'dead_letter',
  options: {},
};

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A runner on a real store in a temporary folder, with `clock` as its time when given. */
function harness(sink: Sink, config: Partial<SinkConfig> = {}, clock?: { now: number }) {
  const tmp = tempDir('relay-runner-');
  const now = clock ? () => clock.now : Date.now;
  const store: SqliteStore = openSqliteStore({ dir: tmp.dir, maxBytes: 1 << 30, dedupeWindowSeconds: 0, now });
  const runner = new SinkRunner({ config: { ...CONFIG, ...config }, sink, store, logger: pino({ level: 'silent' }), metrics: new RelayMetrics(), now, random: () => 0 });
  store.onEnqueued(() => runner.notify());
  cleanups.push(tmp.cleanup, () => store.close(), () => runner.stop(100));
  let n = 0;
  const send = async (jobId: string, body?: string): Promise<void> => {
    n++;
    const text = body ?? JSON.stringify({ success: true, type: 'crawl.page', id: jobId, data: [], n });
    await store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId, dedupeKey: null, body: Buffer.from(text), sinks: ['s'] });
  };
  return { store, runner, send, pending: () => store.counters().get('s')?.pending ?? 0 };
}

const tag = (e: RelayEvent): string => `${e.jobId}#${(e.payload as unknown as { n: number }).n}`;

/** A per-event sink that records each event it is given and throws `error` for the first. */
const failingFirst = (calls: string[], error: Error): Sink => ({
  async deliver(event) {
    calls.push(tag(event));
    if (calls.length === 1) throw error;
  },
});

describe('per-event sinks (deliver)', () => {
  it('stop a lane at its first failure and deliver the job in order, each event once (issue item 1)', async () => {
    const calls: string[] = [];
    const { runner, send, pending } = harness({
      async deliver(event) {
        calls.push(tag(event));
        if (calls.length === 1) throw new RetryableError('refused once');
      },
    });
    for (let i = 0; i < 3; i++) await send('job');
    runner.start();
    await until(() => pending() === 0);
    expect(calls).toEqual(['job#1', 'job#1', 'job#2', 'job#3']);
  });

  it('run up to max_in_flight lanes at once, never two events of one lane at once', async () => {
    let running = 0;
    let most = 0;
    const inLane = new Set<string>();
    let overlapInLane = false;
    const { runner, send, pending } = harness(
      {
        async deliver(event) {
          if (inLane.has(event.jobId)) overlapInLane = true;
          inLane.add(event.jobId);
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
          inLane.delete(event.jobId);
        },
      },
      { max_in_flight: 3 },
    );
    for (let i = 0; i < 24; i++) await send(`job-${i % 6}`);
    runner.start();
    await until(() => pending() === 0);
    expect(most).toBe(3);
    expect(overlapInLane).toBe(false);
  });

  it('keep a timed-out event\'s slot until the sink\'s promise settles (issue item 3)', async () => {
    const order: string[] = [];
    const { runner, send, pending } = harness(
      {
        async deliver(event, signal) {
          order.push(`start ${tag(event)}`);
          if (order.length === 1) {
            // Ignores its signal for a while, as a sink may.
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            order.push('aborted');
            await new Promise((resolve) => setTimeout(resolve, 100));
            order.push(`end ${tag(event)}`);
            throw new Error('gave up late');
          }
          order.push(`end ${tag(event)}`);
        },
      },
      { max_in_flight: 1, write_timeout_ms: 30 },
    );
    await send('a');
    await send('b');
    runner.start();
    await until(() => pending() === 0);
    expect(order.slice(0, 3)).toEqual(['start a#1', 'aborted', 'end a#1']);
    expect(order.filter((o) => o.startsWith('start'))).toHaveLength(3);
  });

  it('pause the whole sink on a Retry-After, not only the event that got it', async () => {
    const clock = { now: 1_000_000 };
    const calls: string[] = [];
    const { runner, send } = harness(
      failingFirst(calls, new RetryableError('HTTP 429', { retryAfterMs: 60_000 })),
      { max_in_flight: 1 },
      clock,
    );
    await send('a');
    await send('b');
    runner.start();
    await until(() => calls.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toEqual(['a#1']);
    clock.now += 61_000;
    runner.notify();
    await until(() => calls.length === 3);
    expect(calls).toEqual(['a#1', 'b#2', 'a#1']);
  });

  // Issue 12 follow-up: a write hung past write_timeout_ms left the sink reported up.
  it('mark the sink down when a write overruns write_timeout_ms, until a write succeeds', async () => {
    let release: () => void = () => {};
    const order: string[] = [];
    const { runner, send, pending } = harness(
      {
        async deliver(event) {
          order.push(`start ${tag(event)}`);
          // Ignores its signal: hangs until released, then succeeds.
          if (order.length === 1) await new Promise<void>((resolve) => (release = resolve));
        },
      },
      { max_in_flight: 1, write_timeout_ms: 30 },
    );
    await send('a');
    runner.start();
    await until(() => order.length === 1);
    expect(runner.state().up).toBe(true);
    await until(() => !runner.state().up);
    expect(runner.state().error).toContain('did not finish a write within 30 ms');
    expect(pending()).toBe(1);
    release();
    await until(() => pending() === 0);
    expect(runner.state()).toEqual({ up: true, error: null, from: 'last_write' });
    expect(order).toEqual(['start a#1']);
  });

  // Issue 12 follow-up: the sink-wide pause used the per-event schedule (webhook: 60 s).
  it('pause the sink after max_in_flight failed lanes on the short generic backoff, not the per-event schedule', async () => {
    const clock = { now: 1_000_000 };
    const calls: string[] = [];
    const { runner, send } = harness(
      failingFirst(calls, new RetryableError('refused')),
      { max_in_flight: 1, retry: { ...CONFIG.retry, schedule_ms: [60_000] } },
      clock,
    );
    await send('a');
    await send('b');
    runner.start();
    await until(() => calls.length === 1);
    clock.now += 25; // past initial_delay_ms (20), far from the lane's 60 s
    runner.notify();
    await until(() => calls.length === 2);
    expect(calls).toEqual(['a#1', 'b#2']);
    clock.now += 60_000; // the failed lane keeps its own schedule
    runner.notify();
    await until(() => calls.length === 3);
    expect(calls).toEqual(['a#1', 'b#2', 'a#1']);
  });

  // Issue 12 follow-up: Retry-After: 100000000 paused the sink ~3 years, past max_age.
  it('cap a Retry-After at the retry max_delay_ms, for the sink and for the lane', async () => {
    const clock = { now: 1_000_000 };
    const calls: string[] = [];
    const { runner, send } = harness(
      failingFirst(calls, new RetryableError('HTTP 429', { retryAfterMs: 100_000_000_000 })),
      { max_in_flight: 1 },
      clock,
    );
    await send('a');
    runner.start();
    await until(() => calls.length === 1);
    clock.now += 101; // max_delay_ms is 100
    runner.notify();
    await until(() => calls.length === 2);
    expect(calls).toEqual(['a#1', 'a#1']);
  });

  it('take Retry-After: 0 as the normal backoff, not a retry at once', async () => {
    const clock = { now: 1_000_000 };
    const calls: string[] = [];
    const { runner, send } = harness(
      failingFirst(calls, new RetryableError('HTTP 429', { retryAfterMs: 0 })),
      {}, // max_in_flight 8: one failed lane does not pause the sink, only its own schedule holds it

      clock,
    );
    await send('a');
    runner.start();
    await until(() => calls.length === 1);
    // The clock stands still: a retry now would be back-to-back.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toEqual(['a#1']);
    clock.now += 20; // initial_delay_ms
    runner.notify();
    await until(() => calls.length === 2);
    expect(calls).toEqual(['a#1', 'a#1']);
  });

  it('on stop, let the event in flight end, abort it at the deadline, and count no attempt (issue item 3)', async () => {
    const order: string[] = [];
    const { store, runner, send } = harness({
      async deliver(_event, signal) {
        order.push('started');
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        order.push('ended');
        throw signal.reason;
      },
    });
    await send('a');
    runner.start();
    await until(() => order.length === 1);
    await runner.stop(50);
    order.push('stopped');
    expect(order).toEqual(['started', 'ended', 'stopped']);
    const [lane] = await store.claim('s', { lanes: 1, events: 1, bytes: 1 << 20 });
    expect(lane!.deliveries[0]!.attempts).toBe(0);
  });
});

describe('batch-native sinks (write)', () => {
  it('deliver a lane up to its first failed event; the events behind it go again, not counted as attempts', async () => {
    const writes: string[][] = [];
    const attempts: number[][] = [];
    const { runner, send, pending } = harness({
      async write(batch): Promise<WriteResult> {
        writes.push(batch.map(tag));
        attempts.push(batch.map((e) => e.attempt));
        return writes.length === 1 ? { failed: [{ index: batch.findIndex((e) => e.jobId === 'a'), error: new Error('no') }] } : { failed: [] };
      },
    });
    await send('a');
    await send('b');
    await send('a');
    runner.start();
    await until(() => pending() === 0);
    expect(writes[0]!.sort()).toEqual(['a#1', 'a#3', 'b#2']);
    expect(writes[1]).toEqual(['a#1', 'a#3']);
    expect(attempts[1]).toEqual([2, 1]);
  });

  it('fail only the event whose stored body cannot be read, not its batch (issue item 2)', async () => {
    const writes: string[][] = [];
    const { store, runner, send, pending } = harness({
      async write(batch) {
        writes.push(batch.map(tag));
      },
    });
    await send('a');
    await send('bad', '\ufeff{"not json');
    await send('c');
    runner.start();
    await until(() => pending() === 0);
    expect(writes).toEqual([['a#1', 'c#3']]);
    const dead = await store.deadLetters.list();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ jobId: 'bad' });
    expect(dead[0]!.lastError).toMatch(/^stored body could not be read/);
  });

  it('start no write while a timed-out one still runs (issue item 3)', async () => {
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const { runner, send, pending } = harness(
      {
        async write(_batch, signal) {
          most = Math.max(most, ++running);
          order.push('start');
          try {
            if (order.length === 1) {
              await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
              await new Promise((resolve) => setTimeout(resolve, 100));
              throw new Error('ended late');
            }
          } finally {
            running--;
            order.push('end');
          }
        },
      },
      { write_timeout_ms: 30 },
    );
    await send('a');
    runner.start();
    await until(() => pending() === 0);
    expect(order).toEqual(['start', 'end', 'start', 'end']);
    expect(most).toBe(1);
  });

  it('reconnect when some events report NotConnectedError, without counting an attempt (issue item 5)', async () => {
    const calls: string[] = [];
    const { runner, send, pending } = harness({
      async connect() {
        calls.push('connect');
      },
      async write(batch): Promise<WriteResult> {
        calls.push(`write ${batch.map((e) => `${tag(e)}@${e.attempt}`).join(' ')}`);
        if (calls.length === 2) return { failed: [{ index: 1, error: new NotConnectedError('partition leader gone') }] };
        return { failed: [] };
      },
    });
    await send('a');
    await send('b');
    runner.start();
    await until(() => pending() === 0);
    expect(calls).toEqual(['connect', 'write a#1@1 b#2@1', 'connect', 'write b#2@1']);
  });
});
