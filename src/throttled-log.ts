import type { Logger } from 'pino';

/** At most one line per code this often; the lines in between are counted, not written. */
export const THROTTLE_INTERVAL_MS = 10_000;

type Level = 'info' | 'warn';

/**
 * The first call for a key passes, then at most one per `intervalMs`; those in between are
 * held back and counted. `pass` answers how many were held back since the last one that
 * passed, or undefined when this one is held back.
 */
export class Throttle {
  private readonly keys = new Map<string, { lastAt: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  pass(key: string): number | undefined {
    const now = Date.now();
    const seen = this.keys.get(key);
    if (seen !== undefined && now - seen.lastAt < this.intervalMs) {
      seen.suppressed++;
      return undefined;
    }
    this.keys.set(key, { lastAt: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }
}

/**
 * Lines a sender can cause at will (a refused webhook, a closed connection): under attack
 * one per request filled the log (8k lines in 90 s). The first of each code is written, then
 * at most one per interval, carrying how many were left out since (`suppressed`).
 */
export class ThrottledLog {
  private readonly throttle = new Throttle(THROTTLE_INTERVAL_MS);

  constructor(private readonly logger: Logger) {}

  write(level: Level, code: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.throttle.pass(code);
    if (suppressed === undefined) return;
    this.logger[level]({ ...fields, code, ...(suppressed ? { suppressed } : {}) }, message);
  }
}

const byLogger = new WeakMap<Logger, ThrottledLog>();

/** The one throttle of `logger`: every place logging through it shares the per-code count. */
export function throttled(logger: Logger): ThrottledLog {
  let log = byLogger.get(logger);
  if (log === undefined) byLogger.set(logger, (log = new ThrottledLog(logger)));
  return log;
}
