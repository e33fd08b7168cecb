import type { Logger } from 'pino';
import type { SinkConfig } from '../config/types.js';
import { RelayError, describeError } from '../errors.js';
import type { RelayMetrics } from '../metrics.js';
import { NotConnectedError, PermanentError, RetryableError } from '../plugin-api/errors.js';
import type { FirecrawlPayload, RelayEvent, Sink } from '../plugin-api/types.js';
import { backoffDelay } from './backoff.js';
import type { QueuedDelivery, Queue, Settlement } from './queue.js';

/** Longest sleep between two looks at the queue (so CLI replays are seen). */
const IDLE_POLL_MS = 1000;

/** A sink that keeps failing logs its error at most this often (with how many it held back). */
const ERROR_LOG_INTERVAL_MS = 30_000;

export interface DispatcherOptions {
  config: SinkConfig;
  sink: Sink;
  queue: Queue;
  logger: Logger;
  metrics: RelayMetrics;
  now?: () => number;
  random?: () => number;
}

/** Whether a batch is as large in bytes as it may get: lingering would not add to it. */
function full(rows: readonly QueuedDelivery[], maxBytes: number): boolean {
  let bytes = 0;
  for (const row of rows) bytes += row.body.length;
  return bytes >= maxBytes;
}

/** The body was valid JSON when it was accepted; parsing it is left to sinks that read it. */
function toEvent(row: QueuedDelivery): RelayEvent {
  let parsed: FirecrawlPayload | undefined;
  const payload = (): FirecrawlPayload => {
    if (!parsed) {
      parsed = JSON.parse(row.body.toString('utf8')) as FirecrawlPayload;
      if (parsed.id === undefined) parsed.id = row.jobId;
    }
    return parsed;
  };
  return {
    deliveryId: String(row.id),
    eventId: String(row.eventId),
    source: row.source,
    receivedAt: new Date(row.receivedAt),
    attempt: row.attempts + 1,
    type: row.type,
    jobId: row.jobId,
    get success() {
      return payload().success;
    },
    get payload() {
      return payload();
    },
    raw: row.body,
  };
}

/**
 * Delivers one sink's queue: one batch at a time, in id order, retrying with backoff.
 * A sink that fails or hangs only ever delays its own deliveries.
 */
export class Dispatcher {
  private readonly name: string;
  private stopped = false;
  private connected = false;
  private lastError: string | null = null;
  private consecutiveFailures = 0;
  private lastWarning: { at: number; message: string } | null = null;
  private suppressedWarnings = 0;
  private wake: (() => void) | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.name = options.config.name;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Why the sink is not delivering, when it is not. */
  get error(): string | null {
    return this.lastError;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New deliveries are waiting: stop sleeping. */
  notify(): void {
    this.wake?.();
  }

  /** Stops after the write in flight; aborts it when `deadlineMs` passes first. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    this.notify();
    if (!this.loop) return;
    const deadline = setTimeout(() => this.abort.abort(new Error('relay shutting down')), deadlineMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(deadline);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.sleepTimer = null;
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.sleepTimer = setTimeout(done, Math.max(0, ms));
    });
  }

  private async run(): Promise<void> {
    const { config, queue, logger } = this.options;
    while (!this.stopped) {
      if (!this.connected) {
        if (!(await this.connect())) {
          await this.sleep(backoffDelay(config.retry, this.consecutiveFailures, this.random));
          continue;
        }
      }
      let rows: QueuedDelivery[];
      try {
        rows = queue.nextBatch(this.name, config.batch_max_events, config.batch_max_bytes);
      } catch (err) {
        logger.error({ err: describeError(err) }, 'queue read failed');
        await this.sleep(IDLE_POLL_MS);
        continue;
      }
      if (rows.length === 0) {
        const due = queue.nextDueAt(this.name);
        await this.sleep(due === null ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, due - this.now()));
        continue;
      }
      if (rows.length < config.batch_max_events && !full(rows, config.batch_max_bytes) && config.batch_linger_ms > 0 && !this.stopped) {
        // Not woken by new arrivals: lingering is the point.
        await new Promise((resolve) => setTimeout(resolve, config.batch_linger_ms));
        rows = queue.nextBatch(this.name, config.batch_max_events, config.batch_max_bytes);
      }
      let batchFailed: boolean;
      try {
        batchFailed = await this.deliver(rows);
      } catch (err) {
        // Nothing may stop a sink's loop for good: log, pause, retry.
        logger.error({ err: describeError(err) }, 'delivery loop failed');
        batchFailed = true;
      }
      if (batchFailed && !this.stopped) {
        this.consecutiveFailures++;
        await this.sleep(backoffDelay(config.retry, this.consecutiveFailures, this.random));
      } else this.consecutiveFailures = 0;
    }
  }

  private async connect(): Promise<boolean> {
    const { sink, logger } = this.options;
    try {
      await sink.connect?.(this.abort.signal);
      this.connected = true;
      this.lastError = null;
      logger.info('sink connected');
      return true;
    } catch (err) {
      this.consecutiveFailures++;
      this.lastError = new RelayError('RELAY_ERR_SINK_CONNECT', [this.name, describeError(err)]).message;
      this.warnRateLimited({ err: describeError(err), failures: this.consecutiveFailures }, 'sink connect failed');
      return false;
    }
  }

  /** Writes one batch and settles it in the queue; true when the whole batch failed. */
  private async deliver(rows: QueuedDelivery[]): Promise<boolean> {
    const { config, queue, logger, metrics } = this.options;
    const failures = new Map<number, unknown>();
    const events: RelayEvent[] = [];
    const readable: QueuedDelivery[] = [];
    for (const row of rows) {
      events.push(toEvent(row));
      readable.push(row);
    }

    const stopTimer = metrics.deliveryDuration.startTimer({ sink: this.name });
    let whole: unknown = null;
    try {
      const result = await this.writeWithTimeout(events);
      for (const f of result?.failed ?? []) if (f.index >= 0 && f.index < events.length) failures.set(f.index, f.error);
    } catch (err) {
      whole = err;
      events.forEach((_, i) => failures.set(i, err));
    } finally {
      stopTimer();
    }

    if (whole instanceof NotConnectedError) {
      this.connected = false;
      this.lastError = describeError(whole);
    }

    const settlement = this.settlement(readable, failures);
    try {
      queue.settle(this.name, settlement);
    } catch (err) {
      // The queue could not record the outcome (disk full, I/O error): the events stay
      // pending and are delivered again, which at-least-once allows. Pause, then go on.
      logger.error({ err: describeError(err), count: events.length }, 'delivery outcome not recorded; events will be delivered again');
      return true;
    }

    metrics.deliveries.inc({ sink: this.name, outcome: 'delivered' }, settlement.delivered.length);
    metrics.deliveries.inc({ sink: this.name, outcome: 'retried' }, settlement.retry.length);
    metrics.deliveries.inc({ sink: this.name, outcome: 'dead_lettered' }, settlement.dead.length);
    if (failures.size > 0) {
      const first = failures.values().next().value;
      this.lastError = describeError(first);
      this.warnRateLimited(
        { failed: failures.size, batch: events.length, dead: settlement.dead.length, err: this.lastError },
        'delivery failed',
      );
    } else {
      if (!(whole instanceof NotConnectedError)) this.lastError = null;
      if (this.lastWarning) {
        logger.info({ count: events.length, suppressed: this.suppressedWarnings }, 'deliveries resumed');
        this.lastWarning = null;
        this.suppressedWarnings = 0;
      }
      logger.debug({ count: events.length }, 'events delivered');
    }
    // Every event failed, thrown or reported: the destination is down, pause the sink.
    return whole !== null || (events.length > 0 && failures.size === events.length);
  }

  /** The first failure is logged; the same one again only every ERROR_LOG_INTERVAL_MS. */
  private warnRateLimited(fields: Record<string, unknown> & { err: string }, message: string): void {
    const now = this.now();
    const last = this.lastWarning;
    if (last && last.message === fields.err && now - last.at < ERROR_LOG_INTERVAL_MS) {
      this.suppressedWarnings++;
      return;
    }
    this.options.logger.warn({ ...fields, suppressed: this.suppressedWarnings }, message);
    this.lastWarning = { at: now, message: fields.err };
    this.suppressedWarnings = 0;
  }

  private async writeWithTimeout(events: RelayEvent[]): ReturnType<Sink['write']> {
    const { config, sink } = this.options;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onStop = (): void => {};
    // Settles with the write timeout, or with the shutdown deadline, whichever comes first.
    const timeout = new Promise<never>((_, reject) => {
      const giveUp = (error: unknown): void => {
        controller.abort(error);
        reject(error);
      };
      timer = setTimeout(
        () => giveUp(new RelayError('RELAY_ERR_SINK_TIMEOUT', [this.name, config.write_timeout_ms])),
        config.write_timeout_ms,
      );
      onStop = () => giveUp(this.abort.signal.reason);
      if (this.abort.signal.aborted) onStop();
      else this.abort.signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      // A sink that throws synchronously is treated like one that rejects.
      return await Promise.race([Promise.resolve().then(() => sink.write(events, controller.signal)), timeout]);
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  /**
   * Sorts a written batch into delivered, retried and dead. Once an event of a job
   * fails, the later events of that job in the batch are held back with it, so the sink
   * never sees a job's events out of order across retries.
   */
  private settlement(rows: readonly QueuedDelivery[], failures: ReadonlyMap<number, unknown>): Settlement & {
    dead: Array<{ id: number; error: string }>;
  } {
    const { retry } = this.options.config;
    const now = this.now();
    const delivered: number[] = [];
    const retries: Array<Settlement['retry'][number]> = [];
    const dead: Array<{ id: number; error: string }> = [];
    const heldJobs = new Map<string, number>();

    rows.forEach((row, index) => {
      const held = heldJobs.get(row.jobId);
      const error = failures.get(index);
      if (error === undefined) {
        if (held === undefined) delivered.push(row.id);
        else retries.push({ id: row.id, jobId: row.jobId, at: held, error: null, countAttempt: false });
        return;
      }
      const message = describeError(error).slice(0, 2000);
      const attempts = row.attempts + 1;
      const tooOld = now - row.createdAt >= retry.max_age_seconds * 1000;
      if (error instanceof PermanentError || attempts >= retry.max_attempts || tooOld) {
        if (held === undefined) return void dead.push({ id: row.id, error: message });
      }
      const notConnected = error instanceof NotConnectedError;
      const retryAfter = error instanceof RetryableError ? error.retryAfterMs : undefined;
      const at = held ?? now + (retryAfter ?? (notConnected ? 0 : backoffDelay(retry, attempts, this.random)));
      retries.push({ id: row.id, jobId: row.jobId, at, error: message, countAttempt: !notConnected });
      heldJobs.set(row.jobId, at);
    });
    return { delivered, retry: retries, dead };
  }
}
