import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RetryConfig, SinkConfig } from '../config/types.js';
import { RelayMetrics } from '../metrics.js';
import { NotConnectedError, PermanentError, RetryableError } from '../plugin-api/errors.js';
import type { RelayEvent, Sink, WriteResult } from '../plugin-api/types.js';
import { backoffDelay } from './backoff.js';
import { DeadLetters } from './dead-letters.js';
import { Dispatcher } from './dispatcher.js';
import { Queue } from './queue.js';
import { tempDir } from '../../test/helpers/relay.js';

const RETRY: RetryConfig = {
  initial_delay_ms: 1000,
  max_delay_ms: 60_000,
  multiplier: 2,
  jitter: 0,
  max_attempts: 4,
  max_age_seconds: 86_400,
};

let cleanup: () => void;
let queue: Queue;
let metrics: RelayMetrics;
let dispatcher: Dispatcher | undefined;
const start = Date.UTC(2026, 0, 1);

/** Each write: when it happened (ms after start) and which events it carried. */
let writes: Array<{ at: number; events: string[] }>;

function sinkConfig(overrides: Partial<SinkConfig> = {}): SinkConfig {
  return { name: 's', type: 'test', retry: RETRY, batch_max_events: 100, batch_max_bytes: 16 << 20, batch_linger_ms: 0, write_timeout_ms: 5000, options: {}, ...overrides };
}

function startDispatcher(write: (batch: readonly RelayEvent[], call: number) => Promise<void | WriteResult>, config = sinkConfig(), extra: Partial<Sink> = {}) {
  const sink: Sink = {
    ...extra,
    write: async (batch, _signal) => {
      const call = writes.length;
      writes.push({ at: Date.now() - start, events: batch.map((e) => `${e.jobId}${String(e.payload.n)}`) });
      return write(batch, call);
    },
  };
  dispatcher = new Dispatcher({ config, sink, queue, logger: pino({ level: 'silent' }), metrics, random: () => 0.5 });
  queue.onEnqueued(() => dispatcher?.notify());
  dispatcher.start();
  return dispatcher;
}

async function enqueue(...items: Array<[string, number]>): Promise<void> {
  const pending = items.map(([jobId, n]) =>
    queue.enqueue({
      source: 'firecrawl',
      type: 'crawl.page',
      jobId,
      dedupeKey: null,
      body: Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', id: jobId, data: [], n })),
      sinks: ['s'],
    }),
  );
  await vi.advanceTimersByTimeAsync(0);
  await Promise.all(pending);
}

async function count(outcome: string): Promise<number> {
  const values = (await metrics.deliveries.get()).values;
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

beforeEach(() => {
  vi.useFakeTimers({ now: start });
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  queue = new Queue({ dir: tmp.dir, maxBytes: 1 << 30, dedupeWindowSeconds: 0 });
  metrics = new RelayMetrics();
  writes = [];
});

afterEach(async () => {
  const stopping = dispatcher?.stop(100);
  await vi.advanceTimersByTimeAsync(2000);
  await stopping;
  dispatcher = undefined;
  vi.useRealTimers();
  queue.close();
  cleanup();
});

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and jitter only lowers it', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(RETRY, n))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(RETRY, 30)).toBe(60_000);
    const jittered = { ...RETRY, jitter: 0.5 };
    expect(backoffDelay(jittered, 1, () => 0)).toBe(1000);
    expect(backoffDelay(jittered, 1, () => 0.9)).toBe(550);
  });
});

describe('dispatcher', () => {
  it('retries with exponential backoff until the sink accepts', async () => {
    startDispatcher(async (_batch, call) => {
      if (call < 2) throw new Error(`down ${call}`);
    });
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes.map((w) => w.at)).toEqual([0, 1000, 3000]);
    expect(await count('retried')).toBe(2);
    expect(await count('delivered')).toBe(1);
    expect(queue.stats().pending.size).toBe(0);
  });

  it('parks a delivery in the dead-letter queue after max_attempts, with its last error', async () => {
    startDispatcher(async (_batch, call) => {
      throw new Error(`refused ${call}`);
    });
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(writes.map((w) => w.at)).toEqual([0, 1000, 3000, 7000]);
    const [letter] = new DeadLetters(queue.db).list();
    expect(letter).toMatchObject({ jobId: 'A', attempts: 4, lastError: 'refused 3' });
    expect(await count('dead_lettered')).toBe(1);
  });

  it('dead-letters a PermanentError at once', async () => {
    startDispatcher(async () => {
      throw new PermanentError('HTTP 410 Gone');
    });
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(writes).toHaveLength(1);
    expect(new DeadLetters(queue.db).list()[0]).toMatchObject({ attempts: 1, lastError: 'HTTP 410 Gone' });
  });

  it('waits for retryAfterMs instead of the backoff', async () => {
    startDispatcher(async (_batch, call) => {
      if (call === 0) return { failed: [{ index: 0, error: new RetryableError('429', { retryAfterMs: 30_000 }) }] };
    });
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(writes.map((w) => w.at)).toEqual([0, 30_000]);
  });

  it('retries only what failed, and keeps per-job order across the retry', async () => {
    startDispatcher(async (batch, call) => {
      if (call === 0) {
        // A1 fails; B1, A2 and A3 were accepted by the destination.
        return { failed: [{ index: batch.findIndex((e) => e.jobId === 'A'), error: new Error('partition A unavailable') }] };
      }
    });
    await enqueue(['A', 1], ['B', 1], ['A', 2], ['A', 3]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes.map((w) => w.events)).toEqual([
      ['A1', 'B1', 'A2', 'A3'],
      ['A1', 'A2', 'A3'],
    ]);
    expect(writes[1]!.at).toBe(1000);
    expect(await count('delivered')).toBe(4);
  });

  it('holds a job behind its failing head even for events that arrive later', async () => {
    startDispatcher(async (batch) => {
      const failed = batch.map((e, index) => ({ e, index })).filter(({ e }) => e.jobId === 'A' && e.attempt === 1 && e.payload.n === 1);
      return { failed: failed.map(({ index }) => ({ index, error: new Error('no') })) };
    });
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(100);
    await enqueue(['A', 2], ['B', 1]);
    await vi.advanceTimersByTimeAsync(5000);
    const order = writes.flatMap((w) => w.events);
    expect(order).toEqual(['A1', 'B1', 'A1', 'A2']);
  });

  it('lingers batch_linger_ms for a short batch to fill', async () => {
    startDispatcher(async () => {}, sinkConfig({ batch_linger_ms: 500, batch_max_events: 10 }));
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(200);
    await enqueue(['A', 2], ['B', 1]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([{ at: 500, events: ['A1', 'A2', 'B1'] }]);
  });

  it('keeps a batch within batch_max_bytes of bodies, the first event whatever its size', async () => {
    await enqueue(['A', 1], ['A', 2], ['A', 3], ['A', 4], ['A', 5]);
    const bodyBytes = Buffer.byteLength(JSON.stringify({ success: true, type: 'crawl.page', id: 'A', data: [], n: 1 }));
    startDispatcher(async () => {}, sinkConfig({ batch_max_bytes: 2 * bodyBytes + 1 }));
    await vi.advanceTimersByTimeAsync(100);
    expect(writes.map((w) => w.events)).toEqual([['A1', 'A2'], ['A3', 'A4'], ['A5']]);

    const stopped = dispatcher!.stop(100);
    await vi.advanceTimersByTimeAsync(200);
    await stopped;
    await enqueue(['B', 1], ['B', 2]);
    writes = [];
    startDispatcher(async () => {}, sinkConfig({ batch_max_bytes: 1 }));
    await vi.advanceTimersByTimeAsync(100);
    expect(writes.map((w) => w.events)).toEqual([['B1'], ['B2']]);
  });

  it('retries a write that hangs past write_timeout_ms', async () => {
    startDispatcher(
      async (_batch, call) => {
        if (call === 0) await new Promise(() => {});
      },
      sinkConfig({ write_timeout_ms: 2000 }),
    );
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes.map((w) => w.at)).toEqual([0, 3000]);
    expect(queue.stats().pending.size).toBe(0);
  });

  it('reconnects after NotConnectedError without spending an attempt', async () => {
    let connects = 0;
    startDispatcher(
      async (_batch, call) => {
        if (call === 0) throw new NotConnectedError('socket closed');
      },
      sinkConfig(),
      { connect: async () => void connects++ },
    );
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(connects).toBe(2);
    expect(writes).toHaveLength(2);
    expect(await count('delivered')).toBe(1);
  });

  it('keeps deliveries queued while connect fails, and reports the sink not ready', async () => {
    let up = false;
    const d = startDispatcher(async () => {}, sinkConfig(), {
      connect: async () => {
        if (!up) throw new Error('ECONNREFUSED');
      },
    });
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toHaveLength(0);
    expect(d.isConnected).toBe(false);
    expect(d.error).toMatch(/ECONNREFUSED/);
    up = true;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(d.isConnected).toBe(true);
    expect(writes).toHaveLength(1);
  });
});

describe('dispatcher resilience', () => {
  it('keeps delivering after the queue failed to record an outcome', async () => {
    const settle = queue.settle.bind(queue);
    let failOnce = true;
    queue.settle = (sink, outcome) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('database or disk is full');
      }
      settle(sink, outcome);
    };
    startDispatcher(async () => {});
    await enqueue(['A', 1]);
    await vi.advanceTimersByTimeAsync(5000);
    // Delivered once, not recorded, delivered again and recorded: at least once.
    expect(writes.map((w) => w.events)).toEqual([['A1'], ['A1']]);
    expect(queue.stats().pending.size).toBe(0);
    await enqueue(['B', 1]);
    await vi.advanceTimersByTimeAsync(100);
    expect(writes.at(-1)!.events).toEqual(['B1']);
  });
});
