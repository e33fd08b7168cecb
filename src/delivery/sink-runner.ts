import type { Logger } from 'pino';
import type { SinkConfig } from '../config/types.js';
import { RelayError, describeError } from '../errors.js';
import type { RelayMetrics } from '../metrics.js';
import { NotConnectedError, RetryableError } from '../plugin-api/errors.js';
import type { Sink } from '../plugin-api/types.js';
import { backoffDelay, retryAfterDelay, sinkPauseDelay } from '../queue/backoff.js';
import type { ClaimedLane, QueueStore } from '../queue/store.js';
import { writeBatch } from './batch-runner.js';
import type { LaneResult, WriteContext } from './context.js';
import { runLane } from './lane-runner.js';
import type { PayloadCache } from './payload-cache.js';
import { RateLimiter } from './rate-limiter.js';
import { SettleGroup } from './settle-group.js';
import { describeSinkError } from './failure.js';
import { FailureLog, failureKey } from './warnings.js';
import { Waker } from './waker.js';

/** The error's stable code, when it has one, for the log line. */
function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { code } : {};
}

/** Longest sleep between two looks at the queue (so replays by the CLI are seen). */
const IDLE_POLL_MS = 1000;
/** How long writes still running get after the shutdown deadline aborted them. */
const ABORT_GRACE_MS = 1000;
const HEALTHCHECK_INTERVAL_MS = 15_000;
const HEALTHCHECK_TIMEOUT_MS = 5_000;

export interface SinkRunnerOptions {
  config: SinkConfig;
  sink: Sink;
  store: QueueStore;
  logger: Logger;
  metrics: RelayMetrics;
  now?: () => number;
  random?: () => number;
  /** How often `healthcheck()` is polled, when the sink has one. */
  healthcheckIntervalMs?: number;
  /** True while an operator has the sink paused: it claims nothing (deliveries keep queueing). */
  isPaused?: () => boolean;
  /** After each settle: what it delivered and what failed (for the console's live view). */
  onSettled?: (delivered: number, failed: number) => void;
  /** Payloads the ingress parsed, by event id. */
  payloads?: PayloadCache;
}

/** A sink's state for /readyz and `relay_sink_up`. */
export interface SinkState {
  up: boolean;
  error: string | null;
  /** What the state was read from; `not_started` until the sink first connected (create or connect failing). */
  from: 'healthcheck' | 'last_write' | 'not_started';
}

/**
 * Delivers one sink's lanes. Per-event sinks (`deliver`): up to `max_in_flight` lanes at
 * once, one event at a time within a lane. Batch-native sinks (`write`): one batch of lane
 * heads at a time. Either way a write that times out is aborted and waited for, the sink
 * pauses as a whole on Retry-After, on repeated failures and while it reconnects, and a
 * sink that fails or hangs only ever delays its own deliveries.
 */
export class SinkRunner {
  readonly name: string;
  private connected = false;
  private everConnected = false;
  private connectFailures = 0;
  private pausedUntil = 0;
  private failureStreak = 0;
  private notConnectedStreak = 0;
  private pauses = 0;
  private lastError: string | null = null;
  /** Set when a write overran its timeout; cleared only when a write delivers again. */
  private overrun: string | null = null;
  private health: { up: boolean; error: string | null } | null = null;
  private loop: Promise<void> | null = null;
  private readonly lanes = new Set<Promise<void>>();
  private readonly waker = new Waker();
  private readonly stopping = new AbortController();
  private readonly shutdown = new AbortController();
  private readonly limiter: RateLimiter | null;
  private readonly failures: FailureLog;
  private readonly deadLetterLog: FailureLog;
  private readonly blockedLog: FailureLog;
  /** Contract warnings already given: each is logged once per sink. */
  private readonly misuses = new Set<string>();
  private readonly now: () => number;
  private readonly random: () => number;
  private healthTimer: NodeJS.Timeout | null = null;
  /** Held settles of lanes that delivered in the same turn: one transaction. */
  private readonly held: SettleGroup;

  constructor(private readonly options: SinkRunnerOptions) {
    this.name = options.config.name;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    const rate = options.config.rate_limit;
    this.limiter = rate ? new RateLimiter(rate.per_second, rate.burst, this.now) : null;
    this.failures = new FailureLog(options.logger, this.now);
    this.deadLetterLog = new FailureLog(options.logger, this.now);
    this.blockedLog = new FailureLog(options.logger, this.now);
    this.held = new SettleGroup((settlements) => this.options.store.settle(settlements));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Up or down, from `healthcheck()` when the sink has one, else from its last write. */
  state(): SinkState {
    // A hung write outranks a healthcheck: the destination answers pings but not writes.
    if (this.overrun !== null) return { up: false, error: this.overrun, from: 'last_write' };
    if (this.health) return { ...this.health, from: 'healthcheck' };
    if (!this.everConnected) return { up: false, error: this.lastError, from: 'not_started' };
    return { up: this.connected && this.lastError === null, error: this.lastError, from: 'last_write' };
  }

  /** What a connect or a write just showed of the destination: newer than the last healthcheck. */
  private observed(error: string | null): void {
    this.lastError = error;
    this.health = null;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    if (this.options.sink.healthcheck) this.pollHealth();
  }

  /** New deliveries are waiting: stop sleeping. */
  notify(): void {
    this.waker.wake();
  }

  /**
   * Starts no new write, lets those in flight end, and aborts them when `deadlineMs`
   * passes first (an abort at shutdown is no attempt). Resolves once every write ended,
   * or at the deadline plus a short grace for a write that ignores its signal.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.waker.wake();
    if (!this.loop) return;
    const ended = this.settled();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.shutdown.abort(new Error('relay shutting down'));
        timer = setTimeout(resolve, ABORT_GRACE_MS);
      }, deadlineMs);
    });
    try {
      await Promise.race([ended, deadline]);
    } finally {
      clearTimeout(timer);
    }
    // Counts held back by the rate limit would otherwise die with the process.
    this.failures.flush();
    this.deadLetterLog.flush();
    this.blockedLog.flush();
    if (this.lanes.size > 0) this.options.logger.warn({ lanes: this.lanes.size }, 'writes still running at shutdown; their deliveries stay queued');
  }

  /**
   * Resolves once the loop and every write ended, however long after `stop` that is: a
   * write that ignores its abort keeps it waiting (shutdown then names it as unfinished).
   */
  async settled(): Promise<void> {
    await this.loop;
    while (this.lanes.size > 0) await Promise.all(this.lanes);
  }

  private get context(): WriteContext {
    return {
      config: this.options.config,
      metrics: this.options.metrics,
      limiter: this.limiter,
      payloads: this.options.payloads,
      shutdown: this.shutdown.signal,
      stopping: this.stopping.signal,
      paused: () => !this.connected || this.pausedUntil > this.now() || this.operatorPaused,
      overran: (timeout) => {
        this.overrun = describeError(timeout);
        this.failures.warn({ err: this.overrun, code: 'RELAY_ERR_SINK_TIMEOUT' }, 'sink write overran write_timeout_ms; sink marked down until a write succeeds');
      },
      // Not rate-limited: once per hung write, and a hung write holds its slot meanwhile.
      abortIgnored: (ignored) => this.options.logger.error({ err: describeError(ignored), code: 'RELAY_ERR_SINK_ABORT_IGNORED' }, 'sink write ignored its abort'),
      misused: (warning) => {
        if (this.misuses.has(warning.code)) return;
        this.misuses.add(warning.code);
        this.options.logger.warn({ err: warning.message, code: warning.code }, 'sink breaks the plugin contract');
      },
      blockedLoop: (ms) => {
        const blocked = new RelayError('RELAY_ERR_SINK_BLOCKED_LOOP', [this.name, ms]);
        this.blockedLog.warn({ err: blocked.message, code: blocked.code, blocked_ms: ms }, 'sink blocked the event loop');
      },
      leaseLost: (lane) => this.options.store.leaseLost?.(lane) ?? false,
      settleHeld: (settlement) => this.held.add(settlement),
      now: this.now,
      random: this.random,
    };
  }

  private get operatorPaused(): boolean {
    return this.options.isPaused?.() ?? false;
  }

  /** Where the sink stands, for the console: paused by an operator, waiting out a failure, or delivering. */
  activity(): 'paused' | 'disconnected' | 'failing' | 'delivering' {
    if (this.operatorPaused) return 'paused';
    if (!this.connected) return 'disconnected';
    return this.state().up ? 'delivering' : 'failing';
  }

  private async run(): Promise<void> {
    const { logger, config } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        if (this.operatorPaused) {
          // Woken by resume (notify) at once, else looks again after the idle poll.
          await this.waker.sleep(IDLE_POLL_MS);
          continue;
        }
        const pause = this.pausedUntil - this.now();
        if (pause > 0) {
          await this.waker.sleep(pause);
          continue;
        }
        if (!this.connected) {
          if (!(await this.connect())) await this.waker.sleep(backoffDelay(config.retry, this.connectFailures, this.random));
          continue;
        }
        if ('deliver' in this.options.sink && typeof this.options.sink.deliver === 'function') await this.startLanes();
        else await this.writeOneBatch();
      } catch (err) {
        // Nothing may stop a sink's loop for good (a store that cannot be read, a bug): log, pause, go on.
        logger.error({ err: describeError(err) }, 'delivery loop failed');
        await this.waker.sleep(IDLE_POLL_MS);
      }
    }
  }

  private async connect(): Promise<boolean> {
    const { sink, logger } = this.options;
    try {
      await sink.connect?.(this.shutdown.signal);
      this.connected = true;
      this.everConnected = true;
      this.connectFailures = 0;
      this.observed(null);
      logger.info('sink connected');
      return true;
    } catch (err) {
      this.connectFailures++;
      this.observed(new RelayError('RELAY_ERR_SINK_CONNECT', [this.name, describeError(err)]).message);
      this.failures.warn({ err: describeError(err), failures: this.connectFailures }, 'sink connect failed');
      return false;
    }
  }

  /** Sleeps until something may be due: a lane's backoff ends, new deliveries, or the idle poll. */
  private async idle(): Promise<void> {
    const due = await this.options.store.nextDueAt(this.name);
    await this.waker.sleep(due === null ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, due - this.now()));
  }

  /** Per-event sinks: fills free slots with due lanes; each lane settles on its own. */
  private async startLanes(): Promise<void> {
    const { config, store, sink } = this.options;
    const free = config.max_in_flight - this.lanes.size;
    if (free <= 0) return this.waker.sleep(IDLE_POLL_MS);
    const claimed = await store.claim(this.name, { lanes: free, events: Math.max(free, config.batch_max_events), bytes: config.batch_max_bytes });
    if (claimed.length === 0) return this.lanes.size > 0 ? this.waker.sleep(IDLE_POLL_MS) : this.idle();
    for (const lane of claimed) {
      const task: Promise<void> = runLane(lane, sink as Extract<Sink, { deliver: unknown }>, this.context)
        .then((result) => this.settle([result]), (err: unknown) => this.giveBack([lane], err))
        .finally(() => {
          this.lanes.delete(task);
          this.waker.wake();
        });
      this.lanes.add(task);
    }
  }

  /** Batch-native sinks: one batch of lane heads, written and settled before the next. */
  private async writeOneBatch(): Promise<void> {
    const { config, store, sink } = this.options;
    const limits = (events: number) => ({ lanes: events, events, bytes: config.batch_max_bytes });
    const room = (): number => Math.max(1, Math.min(config.batch_max_events, this.limiter?.available() ?? Infinity));
    let claimed: ClaimedLane[] = await store.claim(this.name, limits(room()));
    if (claimed.length === 0) return this.idle();
    let results: LaneResult[];
    let threw: boolean;
    try {
      const count = (): number => claimed.reduce((n, lane) => n + lane.deliveries.length, 0);
      if (config.batch_linger_ms > 0 && count() < config.batch_max_events && !this.stopping.signal.aborted) {
        // Not woken by new arrivals: lingering is the point.
        await new Promise((resolve) => setTimeout(resolve, config.batch_linger_ms));
        const more = Math.min(config.batch_max_events, room()) - count();
        if (more > 0) claimed = [...claimed, ...(await store.claim(this.name, limits(more)))];
      }
      ({ results, threw } = await writeBatch(claimed, sink as Extract<Sink, { write: unknown }>, this.context));
    } catch (err) {
      return this.giveBack(claimed, err);
    }
    await this.settle(results, threw);
  }

  /**
   * A runner bug or a store error between claim and settle: the lanes go back untouched
   * (their events were not written, or at-least-once allows writing them again) rather
   * than staying claimed until the relay restarts. The sink pauses briefly.
   */
  private async giveBack(lanes: readonly ClaimedLane[], error: unknown): Promise<void> {
    const { store, logger } = this.options;
    logger.error({ err: describeError(error), lanes: lanes.length }, 'delivery failed unexpectedly; lanes given back');
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + IDLE_POLL_MS);
    try {
      await store.settle(lanes.map((lane) => ({ lane, delivered: [] })));
    } catch (err) {
      logger.error({ err: describeError(err), lanes: lanes.length }, 'lanes could not be given back');
    }
  }

  /** Records lane outcomes, counts them, and pauses or reconnects the sink when they say so. */
  private async settle(results: readonly LaneResult[], thrown = false): Promise<void> {
    const { store, logger, metrics, config } = this.options;
    try {
      await store.settle(results.map((r) => r.settlement));
    } catch (err) {
      // The outcome could not be recorded (disk full, I/O error): the deliveries stay pending
      // and go again, which at-least-once allows. Pause, then go on.
      logger.error({ err: describeError(err), lanes: results.length }, 'delivery outcome not recorded; events will be delivered again');
      this.pausedUntil = this.now() + IDLE_POLL_MS;
      return;
    }
    let delivered = 0;
    let retried = 0;
    let dead = 0;
    // Whether anything failed, apart from what it threw: a sink may throw undefined.
    let failed = false;
    let firstError: unknown;
    let notConnected = false;
    let retryAfter = 0;
    for (const { settlement, error, settledEarly = 0 } of results) {
      delivered += settlement.delivered.length + settledEarly;
      const failure = settlement.failure;
      if (!failure) continue;
      // Aborted at shutdown or reload: no attempt, says nothing of the destination, no warning.
      if (this.shutdown.signal.aborted && !('dead' in failure) && !failure.countAttempt) continue;
      if ('dead' in failure) dead++;
      else if (failure.countAttempt) retried++;
      if (!failed) firstError = error;
      failed = true;
      if (error instanceof NotConnectedError) notConnected = true;
      if (error instanceof RetryableError) retryAfter = Math.max(retryAfter, retryAfterDelay(config.retry, error.retryAfterMs) ?? 0);
    }
    metrics.deliveries.inc({ sink: this.name, outcome: 'delivered' }, delivered);
    metrics.deliveries.inc({ sink: this.name, outcome: 'retried' }, retried);
    metrics.deliveries.inc({ sink: this.name, outcome: 'dead_lettered' }, dead);
    this.options.onSettled?.(delivered, retried + dead);

    const now = this.now();
    if (notConnected) {
      // Reconnect, after a backoff that grows while writes keep finding no connection
      // (a connect() that succeeds does not prove the next write will): never a tight loop.
      this.connected = false;
      this.observed(describeSinkError(firstError));
      this.notConnectedStreak++;
      this.pausedUntil = Math.max(this.pausedUntil, now + backoffDelay(config.retry, this.notConnectedStreak, this.random));
    }
    // A 429's Retry-After holds the whole sink, not one event.
    if (retryAfter > 0) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfter);
    if (delivered > 0) {
      this.overrun = null;
      this.notConnectedStreak = 0;
      this.failureStreak = 0;
      this.pauses = 0;
      if (!notConnected) this.observed(null);
      if (!failed) this.failures.resumed(delivered);
    } else if (retried > 0) {
      // Nothing went through and something will be retried: the destination is down, as
      // far as the last write tells (a dead-lettered event alone says nothing of it).
      this.observed(describeSinkError(firstError));
      // Every lane of a round failing means the destination, not an event: pause the sink.
      this.failureStreak += results.length;
      const perEvent = 'deliver' in this.options.sink;
      if (thrown || !perEvent || this.failureStreak >= config.max_in_flight) {
        this.pauses++;
        this.failureStreak = 0;
        this.pausedUntil = Math.max(this.pausedUntil, now + sinkPauseDelay(config.retry, this.pauses, this.random));
      }
    }
    if (failed) {
      const fields = { err: describeSinkError(firstError), ...codeOf(firstError) };
      const key = failureKey(firstError);
      this.failures.warn(fields, 'delivery failed', { retried, dead_lettered: dead, delivered }, key);
      // Where the plugin failed, for its author (LOG_LEVEL=debug): frames and message, no payload.
      if (firstError instanceof Error && logger.isLevelEnabled('debug')) logger.debug({ stack: firstError.stack, ...codeOf(firstError) }, 'delivery failed: stack');
      if (dead > 0) {
        this.deadLetterLog.warn({ ...fields, replay: `firecrawl-relay dlq replay --sink ${this.name}` }, 'deliveries dead-lettered', { dead_lettered: dead }, key);
      }
    }
  }

  /** Polls `healthcheck()` in the background, with a timeout, for readiness and the gauge. */
  private pollHealth(): void {
    const { sink, healthcheckIntervalMs = HEALTHCHECK_INTERVAL_MS } = this.options;
    const check = async (): Promise<void> => {
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS)]);
      try {
        await Promise.race([
          sink.healthcheck!(signal),
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('healthcheck timed out')), { once: true })),
        ]);
        this.health = { up: true, error: null };
      } catch (err) {
        this.health = { up: false, error: describeError(err) };
      }
      if (!this.stopping.signal.aborted) {
        this.healthTimer = setTimeout(() => void check(), healthcheckIntervalMs);
        this.healthTimer.unref();
      }
    };
    void check();
  }
}
