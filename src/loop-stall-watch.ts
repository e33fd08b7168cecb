import type { Logger } from 'pino';
import { RelayError } from './errors.js';
import { FailureLog } from './delivery/warnings.js';

/** How often the watch expects to run. */
export const STALL_CHECK_MS = 500;
/** A tick this much late is a stall worth a line. */
export const STALL_WARN_MS = 1000;

/**
 * Notices the event loop not running (a timer drift check): plugins run in the relay's
 * process, and one that works synchronously stalls webhooks and every sink. Logs
 * RELAY_ERR_SINK_LOOP_STALLED with how long, rate-limited. Returns the function that stops it.
 */
export function watchLoopStalls(logger: Logger, now: () => number = Date.now): () => void {
  const log = new FailureLog(logger, now);
  let expected = now() + STALL_CHECK_MS;
  const timer = setInterval(() => {
    const stalledMs = now() - expected;
    expected = now() + STALL_CHECK_MS;
    if (stalledMs < STALL_WARN_MS) return;
    const stalled = new RelayError('RELAY_ERR_SINK_LOOP_STALLED', [STALL_CHECK_MS, stalledMs]);
    log.warn({ err: stalled.message, code: stalled.code, stalled_ms: stalledMs }, 'event loop stalled', { stalls: 1 });
  }, STALL_CHECK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    log.flush();
  };
}
