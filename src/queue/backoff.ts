import type { RetryConfig } from '../config/types.js';

/**
 * Delay before attempt `attempt + 1`, after `attempt` failures (1-based): exponential,
 * capped, and lowered by up to `jitter` of itself so that retries of many events spread out.
 */
export function backoffDelay(retry: RetryConfig, attempt: number, random: () => number = Math.random): number {
  if (retry.schedule_ms?.length) return retry.schedule_ms[Math.min(Math.max(1, attempt), retry.schedule_ms.length) - 1]!;
  const exponential = retry.initial_delay_ms * retry.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(retry.max_delay_ms, exponential);
  return Math.round(capped * (1 - retry.jitter * random()));
}

/**
 * A destination's Retry-After as the relay waits it: at most the longest its own backoff
 * waits (`max_delay_ms`, or the longest `schedule_ms` step), so a header of years cannot park
 * a sink past `max_age`; none when 0 or absent, so the backoff applies, never back-to-back.
 */
export function retryAfterDelay(retry: RetryConfig, retryAfterMs: number | undefined): number | undefined {
  if (retryAfterMs === undefined || !(retryAfterMs > 0)) return undefined;
  return Math.min(retryAfterMs, Math.max(retry.max_delay_ms, ...(retry.schedule_ms ?? [])));
}

/** The longest a sink-wide pause after failed rounds waits: each failed lane keeps its own schedule. */
const SINK_PAUSE_MAX_MS = 5_000;

/**
 * A sink-wide pause after failing rounds: the generic exponential backoff from
 * `initial_delay_ms`, at most a few seconds, never `schedule_ms` (per-event: 60 s for the
 * webhook sink) — a few refusals of a flapping receiver must not hold every lane that long.
 */
export function sinkPauseDelay(retry: RetryConfig, pauses: number, random: () => number = Math.random): number {
  const { schedule_ms: _perEvent, ...generic } = retry;
  return backoffDelay({ ...generic, max_delay_ms: Math.min(retry.max_delay_ms, SINK_PAUSE_MAX_MS) }, pauses, random);
}
