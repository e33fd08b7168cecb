import type { Logger } from 'pino';

/** A sink that keeps failing logs its error at most this often (with how many it held back). */
export const ERROR_LOG_INTERVAL_MS = 30_000;

type Fields = Record<string, unknown> & { err: string };

/**
 * What makes two failures "the same" for the rate limit: the error's code, else its class
 * and the destination's status. Never the message: messages with ids or URLs in them would
 * all differ, and a failing sink would log every one.
 */
export function failureKey(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; statusCode?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  const name = typeof e?.name === 'string' ? e.name : typeof err;
  return typeof e?.statusCode === 'number' ? `${name}:${e.statusCode}` : name;
}

/**
 * Logs the first of a run of failures of one kind (one `key`), then holds the others back
 * for 30 s and logs one line at the end of that window with the counts (`retried`,
 * `dead_lettered`, …) of every round held back and the latest message: a sink that fails
 * for an hour says how much it failed, not only that it did. `flush()` (at shutdown) logs
 * what is held at once, so no count is lost when the relay stops inside a window.
 */
export class FailureLog {
  private last: { at: number; key: string } | null = null;
  /** The latest line held back, logged at the end of the window. */
  private held: { fields: Fields; message: string } | null = null;
  private suppressed = 0;
  private counts: Record<string, number> = {};
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  warn(fields: Fields, message: string, counts: Record<string, number> = {}, key: string = String(fields.code ?? fields.err)): void {
    const now = this.now();
    if (this.last?.key === key && now - this.last.at < ERROR_LOG_INTERVAL_MS) {
      this.add(counts);
      this.suppressed++;
      this.held = { fields, message };
      this.timer ??= setTimeout(() => this.flush(), this.last.at + ERROR_LOG_INTERVAL_MS - now).unref();
      return;
    }
    // Another kind of failure: what the previous kind held back goes out under its own line.
    if (this.last?.key !== key) this.flush();
    this.clearTimer();
    this.add(counts);
    this.logger.warn({ ...fields, ...this.counts, suppressed: this.suppressed }, message);
    this.reset({ at: now, key });
  }

  /** Logs the line held back, if any, with its counts; a new window starts now. */
  flush(): void {
    this.clearTimer();
    if (!this.held || !this.last) return;
    this.logger.warn({ ...this.held.fields, ...this.counts, suppressed: this.suppressed }, this.held.message);
    this.reset({ at: this.now(), key: this.last.key });
  }

  /** Deliveries went through again: say so once after a run of failures (held counts first). */
  resumed(count: number): void {
    if (!this.last) return;
    this.flush();
    this.logger.info({ count }, 'deliveries resumed');
    this.reset(null);
  }

  private add(counts: Record<string, number>): void {
    for (const [name, value] of Object.entries(counts)) this.counts[name] = (this.counts[name] ?? 0) + value;
  }

  private reset(last: { at: number; key: string } | null): void {
    this.last = last;
    this.held = null;
    this.suppressed = 0;
    this.counts = {};
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
