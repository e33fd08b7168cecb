import type { Logger } from 'pino';

/** A sink that keeps failing logs its error at most this often (with how many it held back). */
const ERROR_LOG_INTERVAL_MS = 30_000;

/** Logs the first of a run of identical failures, then the same one only every 30 s. */
export class FailureLog {
  private last: { at: number; message: string } | null = null;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  warn(fields: Record<string, unknown> & { err: string }, message: string): void {
    const now = this.now();
    const last = this.last;
    if (last && last.message === fields.err && now - last.at < ERROR_LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    this.logger.warn({ ...fields, suppressed: this.suppressed }, message);
    this.last = { at: now, message: fields.err };
    this.suppressed = 0;
  }

  /** Deliveries went through again: say so once after a run of failures. */
  resumed(count: number): void {
    if (!this.last) return;
    this.logger.info({ count, suppressed: this.suppressed }, 'deliveries resumed');
    this.last = null;
    this.suppressed = 0;
  }
}
