import type { RetryConfig } from '../config/types.js';
import { NotConnectedError, PermanentError, RetryableError } from '../plugin-api/errors.js';
import { backoffDelay, retryAfterDelay } from '../queue/backoff.js';
import type { LaneFailure, StoredDelivery } from '../queue/store.js';

/** Reasons are stored with dead letters and shown by `dlq`: keep them bounded. */
const MAX_REASON = 2000;

export interface FailureContext {
  retry: RetryConfig;
  now: number;
  random: () => number;
}

/**
 * What a sink's failure says, whatever it threw: `throw undefined`, a number or a plain
 * object are failures too, and must read as such in logs and dead letters (never a payload:
 * of an object, only its `message`).
 */
export function describeSinkError(error: unknown): string {
  if (error instanceof Error) return error.message || `${error.name} without a message`;
  if (typeof error === 'string') return error || 'the sink threw an empty string';
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    return typeof message === 'string' && message ? `the sink threw a non-Error object: ${message}` : 'the sink threw a non-Error object without a message';
  }
  return `the sink threw ${String(error)}`;
}

export const reasonOf = (error: unknown): string => describeSinkError(error).slice(0, MAX_REASON);

/**
 * What becomes of a delivery whose write failed: retried after backoff (or `retryAfterMs`, capped),
 * retried at once without counting an attempt (not connected, or aborted at shutdown), or
 * dead-lettered (a `PermanentError`, attempts or age exhausted).
 */
export function laneFailure(delivery: StoredDelivery, error: unknown, abortedAtShutdown: boolean, context: FailureContext): LaneFailure {
  const { retry, now, random } = context;
  const message = reasonOf(error);
  if (abortedAtShutdown || error instanceof NotConnectedError) {
    return { id: delivery.id, error: message, retryAt: now, countAttempt: false };
  }
  const attempts = delivery.attempts + 1;
  const tooOld = now - delivery.createdAt >= retry.max_age_seconds * 1000;
  if (error instanceof PermanentError || attempts >= retry.max_attempts || tooOld) {
    return { id: delivery.id, error: message, dead: true };
  }
  const retryAfter = error instanceof RetryableError ? retryAfterDelay(retry, error.retryAfterMs) : undefined;
  return { id: delivery.id, error: message, retryAt: now + (retryAfter ?? backoffDelay(retry, attempts, random)), countAttempt: true };
}

/** A stored body that cannot become an event fails that event for good. */
export function unreadable(delivery: StoredDelivery, error: unknown): LaneFailure {
  return { id: delivery.id, error: `stored body could not be read: ${reasonOf(error)}`, dead: true };
}
