import { RelayError } from '../errors.js';
import { LATE_AFTER_MS, loopTimeout } from './loop-timeout.js';

/** How long a write may run on after its timeout's abort before it is said to ignore it. */
export const ABORT_IGNORED_AFTER_MS = 1000;

export type WriteOutcome<T> =
  | { ok: true; value: T }
  /** `aborted`: why the relay aborted the write before it failed, if it did. */
  | { ok: false; error: unknown; aborted: 'timeout' | 'shutdown' | null };

/**
 * Runs one write with an abort signal that fires on `timeoutMs` or on `shutdown`, and
 * waits for the write to end either way: aborting stops a write, giving up on the promise
 * would not (the next write would run beside it). A write that resolves after its abort
 * still delivered, and counts as delivered. `onOverrun` hears of the timeout as it fires;
 * `onAbortIgnored` hears of a write still running `ABORT_IGNORED_AFTER_MS` after that abort
 * (a sink that does not pass `signal` on: it may never settle, and no other line would say so).
 * Both timers give back time the event loop spent blocked (loopTimeout); `onBlocked` hears
 * of a write whose synchronous part alone held the loop longer than LATE_AFTER_MS.
 */
export async function timedWrite<T>(
  sink: string,
  timeoutMs: number,
  shutdown: AbortSignal,
  write: (signal: AbortSignal) => Promise<T>,
  onOverrun?: (timeout: RelayError) => void,
  onAbortIgnored?: (ignored: RelayError) => void,
  onBlocked?: (blockedMs: number) => void,
): Promise<WriteOutcome<T>> {
  const controller = new AbortController();
  // Made when the timeout fires: an error (and its stack) per write that ends in time is waste.
  let timeout: RelayError | undefined;
  // Told at the timeout, not when the write ends: a sink that ignores its signal may never end.
  let cancelIgnored = (): void => {};
  const cancelTimeout = loopTimeout(() => {
    timeout = new RelayError('RELAY_ERR_SINK_TIMEOUT', [sink, timeoutMs]);
    controller.abort(timeout);
    onOverrun?.(timeout);
    cancelIgnored = loopTimeout(() => onAbortIgnored?.(new RelayError('RELAY_ERR_SINK_ABORT_IGNORED', [sink, timeoutMs, ABORT_IGNORED_AFTER_MS])), ABORT_IGNORED_AFTER_MS);
  }, timeoutMs);
  const call = (): Promise<T> => {
    const started = Date.now();
    const written = write(controller.signal);
    const blocked = Date.now() - started;
    if (blocked > LATE_AFTER_MS) onBlocked?.(blocked);
    return written;
  };
  const onShutdown = (): void => controller.abort(shutdown.reason);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });
  try {
    // A sink that throws synchronously is treated like one that rejects.
    return { ok: true, value: await Promise.resolve().then(call) };
  } catch (error) {
    if (!controller.signal.aborted) return { ok: false, error, aborted: null };
    const byTimeout = timeout !== undefined && controller.signal.reason === timeout;
    return { ok: false, error: byTimeout ? timeout : error, aborted: byTimeout ? 'timeout' : 'shutdown' };
  } finally {
    cancelTimeout();
    cancelIgnored();
    shutdown.removeEventListener('abort', onShutdown);
  }
}
