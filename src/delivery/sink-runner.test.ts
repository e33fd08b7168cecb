import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SinkConfig } from '../config/types.js';
import { RelayMetrics } from '../metrics.js';
import { NotConnectedError, RetryableError } from '../plugin-api/errors.js';
import type { RelayEvent, Sink, WriteResult } from '../plugin-api/types.js';
import { openSqliteStore, type SqliteStore } from '../queue/sqlite/store.js';
import { tempDir } from '../../test/helpers/relay.js';
import { until } from '../../test/helpers/sinks.js';
import { capturedLogger } from '../../test/helpers/logs.js';
import { PermanentError } from '../plugin-api/errors.js';
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
function harness(sink: Sink, config: Partial<SinkConfig> = {}, clock?: { now: number }, logTo?: Logger | string[]) {
  const tmp = tempDir('relay-runner-');
  const now = clock ? () => clock.now : Date.now;
  const store: SqliteStore = openSqliteStore({ dir: tmp.dir, maxBytes: 1 << 30, dedupeWindowSeconds: 0, now });
  const logger = Array.isArray(logTo) ? pino({ level: 'info' }, { write: (line: string) => void logTo.push(line) }) : (logTo ?? pino({ level: 'silent' }));
  const runner = new SinkRunner({ config: { ...CONFIG, ...config }, sink, store, logger, metrics: new RelayMetrics(), now, random: () => 0 });
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

  it('record the events lanes delivered in the same turn in one transaction, each lane still in order', async () => {
    const calls: string[] = [];
    const { runner, store, send, pending } = harness({
      async deliver(event) {
        calls.push(tag(event));
      },
    });
    const settles: string[][] = [];
    const settle = store.settle.bind(store);
    store.settle = async (outcomes) => {
      settles.push(outcomes.map((o) => `${o.lane.jobId}:${o.delivered.length}${o.hold ? ' held' : ''}`));
      return settle(outcomes);
    };
    for (const job of ['A', 'B', 'C', 'A', 'B', 'C']) await send(job);
    runner.start();
    await until(() => pending() === 0);
    // The three lanes wrote their first events together: one settle records all three.
    expect(settles[0]).toEqual(['A:1 held', 'B:1 held', 'C:1 held']);
    expect(calls.filter((c) => c.startsWith('A'))).toEqual(['A#1', 'A#4']);
    expect(calls).toHaveLength(6);
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

  it('write nothing after a rate-limit wait when a Retry-After paused the sink meanwhile', async () => {
    const clock = { now: 1_000_000 };
    const calls: Array<[string, number]> = [];
    const { runner, send } = harness(
      {
        async deliver(event) {
          calls.push([tag(event), clock.now]);
          if (calls.length === 1) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            throw new RetryableError('HTTP 429', { retryAfterMs: 60_000 });
          }
        },
      },
      // a's token is the burst; b, c and d wait 500, 1000 and 1500 ms for theirs.
      { max_in_flight: 4, rate_limit: { per_second: 2, burst: 1 } },
      clock,
    );
    for (const job of ['a', 'b', 'c', 'd']) await send(job);
    runner.start();
    const lanesRunning = (): number => (runner as unknown as { lanes: Set<unknown> }).lanes.size;
    await until(() => calls.length === 1);
    await until(() => lanesRunning() === 0);
    expect(calls).toEqual([['a#1', 1_000_000]]);
    // After the pause every event goes, and the tokens the waiting lanes took were given back.
    clock.now += 61_000;
    runner.notify();
    await until(() => calls.length === 5);
    expect(calls.slice(1).map(([t]) => t).sort()).toEqual(['a#1', 'b#2', 'c#3', 'd#4']);
  });

  it('log no "delivery failed" for a write aborted at shutdown, and leave the sink up', async () => {
    const logs: string[] = [];
    let started = false;
    const { runner, send, pending } = harness(
      {
        async deliver(_event, signal) {
          started = true;
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
        },
      },
      {},
      undefined,
      logs,
    );
    await send('a');
    runner.start();
    await until(() => started);
    await runner.stop(20);
    expect(pending()).toBe(1);
    expect(logs.map((l) => (JSON.parse(l) as { msg: string }).msg)).not.toContain('delivery failed');
    expect(runner.state()).toMatchObject({ error: null });
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

  it('take a malformed write result as a failed write, retry it, and keep no lane claimed', async () => {
    const calls: string[] = [];
    const { runner, send, pending } = harness({
      async write(batch) {
        calls.push(...batch.map(tag));
        if (calls.length <= 2) return { failed: {} } as unknown as WriteResult;
      },
    });
    await send('a');
    await send('b');
    runner.start();
    await until(() => pending() === 0);
    expect(calls).toEqual(['a#1', 'b#2', 'a#1', 'b#2']);
  });

  it('give claimed lanes back when something between claim and settle throws', async () => {
    const calls: string[] = [];
    const { store, runner, send, pending } = harness({ async write(batch) { calls.push(...batch.map(tag)); } }, { batch_linger_ms: 5 });
    // The claim after lingering fails once (an I/O error): the lanes claimed before it must not stay claimed.
    const claim = store.claim.bind(store);
    let claims = 0;
    store.claim = async (...args) => {
      if (++claims === 2) throw new Error('disk I/O error');
      return claim(...args);
    };
    await send('a');
    runner.start();
    await until(() => pending() === 0);
    expect(calls).toEqual(['a#1']);
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

// Issue 17 item 3: a timeout logged "did not finish a write within 3000 ms" with no code or
// hint, and retries and dead letters after the first error were not logged at all.
describe('what a failing sink logs', () => {
  it('a write past write_timeout_ms: its code, and what to do (signal, write_timeout_ms)', async () => {
    const logs = capturedLogger();
    const { runner, send } = harness(
      { deliver: (_event, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))) },
      { write_timeout_ms: 20 },
      undefined,
      logs.logger,
    );
    await send('job');
    runner.start();
    // The first line comes when the write overruns (the sink is marked down), with the code and the hint.
    await until(() => logs.warnings().length > 0);
    const [warning] = logs.warnings();
    expect(warning).toMatchObject({ code: 'RELAY_ERR_SINK_TIMEOUT' });
    expect(String(warning!.err)).toMatch(/within 20 ms \(write_timeout_ms\): the relay aborted its `signal`.*pass `signal` to every I\/O call.*raise write_timeout_ms/);
  });

  it('dead letters after the first error, rate-limited, with their counts', async () => {
    const logs = capturedLogger();
    const clock = { now: 1_000_000 };
    const { runner, send, pending, store } = harness(
      {
        async deliver() {
          throw new PermanentError('refused for good');
        },
      },
      {},
      clock,
      logs.logger,
    );
    const logged = (msg: string) => logs.warnings().filter((w) => w.msg === msg);
    runner.start();
    await send('dead-1');
    await until(() => pending() === 0 && logged('deliveries dead-lettered').length === 1);
    await send('dead-2');
    await until(async () => (await store.deadLetters.list()).length === 2);
    expect(logged('deliveries dead-lettered')).toHaveLength(1); // within 30 s of the first: held back
    clock.now += 31_000;
    await send('dead-3');
    await until(() => logged('deliveries dead-lettered').length === 2);
    const [first, second] = logged('deliveries dead-lettered');
    expect(first).toMatchObject({ err: 'refused for good', dead_lettered: 1, suppressed: 0, replay: 'firecrawl-relay dlq replay --sink s' });
    expect(second).toMatchObject({ err: 'refused for good', dead_lettered: 2, suppressed: 1 });
    expect(logged('delivery failed').map((w) => [w.dead_lettered, w.suppressed])).toEqual([[1, 0], [2, 1]]);
  });
  it('logs the dead letters it held back at shutdown, and rate-limits messages that differ only by id', async () => {
    const logs = capturedLogger();
    let n = 0;
    const { runner, send, store } = harness({
      async deliver() {
        n++;
        throw new PermanentError(`scrape ${n} refused for good`);
      },
    }, {}, undefined, logs.logger);
    const logged = (msg: string) => logs.warnings().filter((w) => w.msg === msg);
    runner.start();
    for (const job of ['d-1', 'd-2', 'd-3']) await send(job);
    await until(async () => (await store.deadLetters.list()).length === 3);
    // One line for the first, the other two held back though their messages differ.
    expect(logged('deliveries dead-lettered')).toHaveLength(1);
    await runner.stop(100);
    expect(logged('deliveries dead-lettered').map((w) => w.dead_lettered)).toEqual([1, 2]);
  });

  // Issue 17 (trial): "there was an error" was read as "the error is not undefined".
  it('a sink that throws undefined: logged with a synthesized message, and the event goes again', async () => {
    const logs = capturedLogger();
    let calls = 0;
    const { runner, send, pending } = harness(
      {
        async deliver() {
          if (++calls === 1) throw undefined;
        },
      },
      {},
      undefined,
      logs.logger,
    );
    await send('job');
    runner.start();
    await until(() => pending() === 0);
    expect(logs.warnings().filter((w) => w.msg === 'delivery failed').map((w) => [w.err, w.retried])).toEqual([['the sink threw undefined', 1]]);
    expect(calls).toBe(2);
  });

  it('a write() result that lists a failed event without an error: logged, saying so', async () => {
    const logs = capturedLogger();
    let calls = 0;
    const { runner, send, pending } = harness({ write: async () => (++calls === 1 ? { failed: [{ index: 0 }] } : undefined) } as unknown as Sink, {}, undefined, logs.logger);
    await send('job');
    runner.start();
    await until(() => pending() === 0);
    expect(logs.warnings().filter((w) => w.msg === 'delivery failed').map((w) => w.err)).toEqual(['write() listed the event at index 0 in `failed` without an `error`']);
  });

  it("logs the error's stack at debug level only", async () => {
    const logs = capturedLogger('debug');
    const { runner, send, pending } = harness({ deliver: async () => Promise.reject(new PermanentError('refused here')) }, {}, undefined, logs.logger);
    await send('job');
    runner.start();
    await until(() => pending() === 0);
    const stacks = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'delivery failed: stack');
    expect(stacks.map((l) => [l.level, String(l.stack).split('\n')[0]])).toEqual([[20, 'PermanentError: refused here']]);
    expect(String(stacks[0]!.stack)).toContain('sink-runner.test.ts');
  });

  // Issue 17 (trial), item 7: contract mistakes the relay cannot refuse, said once.
  it('a deliver() that resolves a write() result: warned once, with its code', async () => {
    const logs = capturedLogger();
    const { runner, send, pending } = harness({ deliver: async () => ({ failed: [{ index: 0, error: new Error('x') }] }) } as unknown as Sink, {}, undefined, logs.logger);
    for (const job of ['a', 'b']) await send(job);
    runner.start();
    await until(() => pending() === 0);
    expect(logs.warnings().map((w) => w.code)).toEqual(['RELAY_ERR_SINK_DELIVER_RESULT']);
  });

  it("a write() that writes a job's later events after one failed: warned once that the order broke", async () => {
    const logs = capturedLogger();
    let calls = 0;
    const { runner, send, pending } = harness(
      { write: async () => (++calls === 1 ? { failed: [{ index: 0, error: new RetryableError('first refused') }] } : undefined) },
      {},
      undefined,
      logs.logger,
    );
    for (let i = 0; i < 3; i++) await send('job');
    runner.start();
    await until(() => pending() === 0);
    expect(logs.warnings().filter((w) => w.code === 'RELAY_ERR_SINK_ORDER_BROKEN').map((w) => w.err)).toEqual([expect.stringContaining('index 0 failed and a later event of the same job written')]);
  });
});
