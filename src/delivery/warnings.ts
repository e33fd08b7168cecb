import type { Logger } from 'pino';

/** A sink that keeps failing logs its error at most this often (with how many it held back). */
const ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * Logs the first of a run of identical failures, then the same one only every 30 s, with
 * the counts (`retried`, `dead_lettered`, …) of every round since the last line, those held
 * back included: a sink that fails for an hour says how much it failed, not only that it did.
 */
export class FailureLog {
  private last: { at: number; message: string } | null = null;
  private suppressed = 0;
  private held: Record<string, number> = {};

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  warn(fields: Record<string, unknown> & { err: string }, message: string, counts: Record<string, number> = {}): void {
    for (const [key, value] of Object.entries(counts)) this.held[key] = (this.held[key] ?? 0) + value;
    const now = this.now();
    const last = this.last;
    if (last && last.message === fields.err && now - last.at < ERROR_LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    this.logger.warn({ ...fields, ...this.held, suppressed: this.suppressed }, message);
    this.last = { at: now, message: fields.err };
    this.suppressed = 0;
    this.held = {};
  }

  /** Deliveries went through again: say so once after a run of failures. */
  resumed(count: number): void {
    if (!this.last) return;
    this.logger.info({ count, suppressed: this.suppressed }, 'deliveries resumed');
    this.last = null;
    this.suppressed = 0;
    this.held = {};
  }
}
