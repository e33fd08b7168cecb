import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import type { RelayMetrics } from '../metrics.js';
import type { QueueStore } from './store.js';

/** At most one "dropped for bytes" warning this often. */
const WARN_EVERY_MS = 60_000;

/**
 * Keeps dead letters under `dead_letters.max_bytes`, so that dead letters alone never
 * make the queue refuse webhooks: past it, the oldest are dropped. A trim reads every dead
 * letter's size, so it runs after an eighth of the budget was parked (a sink over its
 * `max_pending_bytes` parks at the rate webhooks arrive) and at each upkeep tick, never
 * two at once.
 */
export class DeadLetterBudget {
  private parkedSince = 0;
  private running: Promise<void> | null = null;
  private warnedAt = -Infinity;
  private droppedSinceWarning = 0;

  constructor(
    private readonly queue: QueueStore,
    private maxBytes: number,
    private readonly metrics: RelayMetrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A reload may change the budget. */
  setMaxBytes(maxBytes: number): void {
    this.maxBytes = maxBytes;
  }

  /** `bytes` of new dead letters were parked at enqueue. */
  parked(bytes: number): void {
    this.parkedSince += bytes;
    if (this.parkedSince * 8 >= this.maxBytes) void this.trim();
  }

  /** Drops the oldest dead letters past the budget; resolves once done (or at once if one runs). */
  trim(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    this.parkedSince = 0;
    try {
      const dropped = await this.queue.deadLetters.trimToBytes(this.maxBytes);
      if (dropped === 0) return;
      this.metrics.deadLettersExpired.inc({ reason: 'bytes' }, dropped);
      this.droppedSinceWarning += dropped;
      if (this.now() - this.warnedAt < WARN_EVERY_MS) return;
      this.warnedAt = this.now();
      this.logger.warn(
        { count: this.droppedSinceWarning, max_bytes: this.maxBytes },
        'dead letters over dead_letters.max_bytes: the oldest were dropped (replay or export them sooner, or raise the bound)',
      );
      this.droppedSinceWarning = 0;
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'dropping dead letters over dead_letters.max_bytes failed');
    }
  }
}
