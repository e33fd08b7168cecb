import type { Logger } from 'pino';

/** At most one line per code this often; the lines in between are counted, not written. */
export const THROTTLE_INTERVAL_MS = 10_000;

type Level = 'info' | 'warn';

/**
 * Lines a sender can cause at will (a refused webhook, a closed connection): under attack
 * one per request filled the log (8k lines in 90 s). The first of each code is written, then
 * at most one per interval, carrying how many were left out since (`suppressed`).
 */
export class ThrottledLog {
  private readonly codes = new Map<string, { lastAt: number; suppressed: number }>();

  constructor(private readonly logger: Logger) {}

  write(level: Level, code: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const seen = this.codes.get(code);
    if (seen !== undefined && now - seen.lastAt < THROTTLE_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    this.logger[level]({ ...fields, code, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, message);
    this.codes.set(code, { lastAt: now, suppressed: 0 });
  }
}

const byLogger = new WeakMap<Logger, ThrottledLog>();

/** The one throttle of `logger`: every place logging through it shares the per-code count. */
export function throttled(logger: Logger): ThrottledLog {
  let log = byLogger.get(logger);
  if (log === undefined) byLogger.set(logger, (log = new ThrottledLog(logger)));
  return log;
}
