import type { SinkConfig } from '../config/types.js';
import type { RelayMetrics } from '../metrics.js';
import type { LaneFailure, LaneSettlement, StoredDelivery } from '../queue/store.js';
import { laneFailure } from './failure.js';
import type { PayloadCache } from './payload-cache.js';
import type { RateLimiter } from './rate-limiter.js';
import { timedWrite, type WriteOutcome } from './timed-write.js';
import { sleepUnless } from './waker.js';

/** What a lane or batch write needs of its sink's runner. */
export interface WriteContext {
  config: SinkConfig;
  metrics: RelayMetrics;
  limiter: RateLimiter | null;
  /** Payloads the ingress parsed, shared by every sink (read-only). */
  payloads?: PayloadCache;
  /** Aborts writes in flight: fired at the shutdown deadline. */
  shutdown: AbortSignal;
  /** Fired when the runner stops: no new write starts (writes in flight go on). */
  stopping: AbortSignal;
  /** True while the whole sink waits (Retry-After, backoff, reconnect): lanes stop at their next event. */
  paused(): boolean;
  now(): number;
  random(): number;
}

/**
 * Waits for `count` rate-limit tokens. False when the write must not happen after all —
 * the runner stopped or the whole sink paused (a Retry-After) meanwhile — and then the
 * tokens are given back.
 */
export async function tokensFor(context: WriteContext, count: number): Promise<boolean> {
  const { limiter, stopping } = context;
  const wait = limiter?.take(count) ?? 0;
  if (wait <= 0) return true;
  await sleepUnless(wait, stopping);
  if (!stopping.aborted && !context.paused()) return true;
  limiter!.giveBack(count);
  return false;
}

/** One write (a `deliver` or a `write`), timed for the duration histogram. */
export async function measuredWrite<T>(context: WriteContext, write: (signal: AbortSignal) => Promise<T>): Promise<WriteOutcome<T>> {
  const { config, metrics, shutdown } = context;
  const stopTimer = metrics.deliveryDuration.startTimer({ sink: config.name });
  try {
    return await timedWrite(config.name, config.write_timeout_ms, shutdown, write);
  } finally {
    stopTimer();
  }
}

export function failureOf(context: WriteContext, delivery: StoredDelivery, outcome: WriteOutcome<unknown> & { ok: false }): LaneFailure {
  return laneFailure(delivery, outcome.error, outcome.aborted === 'shutdown', {
    retry: context.config.retry,
    now: context.now(),
    random: context.random,
  });
}

/** A settled lane with the error behind its failure, for the runner's state and logs. */
export interface LaneResult {
  settlement: LaneSettlement;
  error?: unknown;
}
