import type { SinkConfig } from '../config/types.js';
import type { RelayError } from '../errors.js';
import type { RelayMetrics } from '../metrics.js';
import { PermanentError, RetryableError } from '../plugin-api/errors.js';
import type { AttemptRecord, ClaimedLane, LaneFailure, LaneSettlement, StoredDelivery } from '../queue/store.js';
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
  /** A write ran past write_timeout_ms (it may still run): the sink is down until one succeeds. */
  overran(timeout: Error): void;
  /** A write still running well after its timeout's abort: the sink ignores its signal. */
  abortIgnored(ignored: Error): void;
  /** The sink broke its contract in a way the relay can only warn about (once per code). */
  misused?(warning: RelayError): void;
  /** A write's synchronous part held the event loop this long: every other sink waited. */
  blockedLoop?(blockedMs: number): void;
  /** True once the store knows another relay took this lane over (its lease ran out): the lane stops. */
  leaseLost?(lane: ClaimedLane): boolean;
  /**
   * Records what a lane delivered so far while the lane stays claimed (a settlement with
   * `hold`). Without it, a lane's deliveries are all recorded when the lane ends.
   */
  settleHeld?(settlement: LaneSettlement): Promise<void>;
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

/** A write's outcome with when it started and how long it took, for the attempt's history. */
export type MeasuredOutcome<T> = WriteOutcome<T> & { at: number; durationMs: number };

/** One write (a `deliver` or a `write`), timed for the duration histogram and the history. */
export async function measuredWrite<T>(context: WriteContext, write: (signal: AbortSignal) => Promise<T>): Promise<MeasuredOutcome<T>> {
  const { config, metrics, shutdown } = context;
  const at = context.now();
  const started = performance.now();
  const stopTimer = metrics.deliveryDuration.startTimer({ sink: config.name });
  try {
    const outcome = await timedWrite(config.name, config.write_timeout_ms, shutdown, write, (timeout) => context.overran(timeout), (ignored) => context.abortIgnored(ignored), (ms) => context.blockedLoop?.(ms));
    return { ...outcome, at, durationMs: Math.round(performance.now() - started) };
  } finally {
    stopTimer();
  }
}

const statusOf = (value: unknown): number | null => {
  const code = (value as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof code === 'number' && Number.isInteger(code) ? code : null;
};

/**
 * The attempt a write made of one delivery, or null when it counts as none (aborted at
 * shutdown, not connected). `failure` is what the write's failure made of the delivery.
 */
export function attemptOf(
  delivery: StoredDelivery,
  write: { at: number; durationMs: number },
  result: { ok: true; value: unknown } | { ok: false; error: unknown; failure: LaneFailure },
): AttemptRecord | null {
  // One object per attempt, built whole (the success path runs once per event delivered).
  if (result.ok) return { deliveryId: delivery.id, eventId: delivery.eventId, at: write.at, durationMs: write.durationMs, outcome: 'delivered', statusCode: statusOf(result.value), error: null };
  const { failure, error } = result;
  if (!('dead' in failure) && !failure.countAttempt) return null;
  const statusCode = error instanceof RetryableError || error instanceof PermanentError ? (error.statusCode ?? null) : null;
  return { deliveryId: delivery.id, eventId: delivery.eventId, at: write.at, durationMs: write.durationMs, outcome: 'dead' in failure ? 'dead_lettered' : 'failed', statusCode, error: failure.error };
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
  /** Deliveries of the lane already recorded while it ran (held settles), not in `settlement.delivered`. */
  settledEarly?: number;
}
