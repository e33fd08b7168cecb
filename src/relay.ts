import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ActivityFeed } from './admin/activity.js';
import { relayOperator } from './admin/relay-operator.js';
import { buildApp, type Readiness, type SinkReadiness } from './app.js';
import type { SinkRegistry } from './config/load.js';
import type { RelayConfig, SinkConfig } from './config/types.js';
import { RelayError, describeError } from './errors.js';
import { ingressState, type IngressState } from './ingress/routes.js';
import { createLogger } from './logger.js';
import { RelayMetrics } from './metrics.js';
import { PayloadCache } from './delivery/payload-cache.js';
import { SinkRunner } from './delivery/sink-runner.js';
import { ShutdownSteps } from './shutdown-steps.js';
import { watchLoopStalls } from './loop-stall-watch.js';
import { NotConnectedError } from './plugin-api/errors.js';
import type { Sink } from './plugin-api/types.js';
import { DeadLetterBudget } from './queue/dead-letter-budget.js';
import { openStore } from './queue/open-store.js';
import type { QueueStore, SinkLimit } from './queue/store.js';

export interface RelayOptions {
  config: RelayConfig;
  registry: SinkRegistry;
  logger?: Logger;
  metrics?: RelayMetrics;
  now?: () => number;
  random?: () => number;
  /** How often sinks' `healthcheck()` is polled (15 s). */
  healthcheckIntervalMs?: number;
}

/** Dedupe keys, expired dead letters and old history are pruned this often, in the background. */
const PRUNE_INTERVAL_MS = 60_000;
/** Paused sinks are re-read this often: another replica on a shared store may have paused one. */
const PAUSED_REFRESH_MS = 5_000;

/** Why deliveries of a sink that has no runner became dead letters. */
export const PARK_REASONS = {
  removed: 'sink no longer configured',
  disabled: 'sink disabled',
} as const;

/** Hears a shutdown step begin; the function it returns is called when the step ends. */
export type ShutdownTracker = (step: string) => () => void;

export interface ReloadResult {
  added: string[];
  changed: string[];
  removed: string[];
  /** Settings that changed but take effect only after a restart. */
  needsRestart: string[];
}

/** A sink whose `create` failed: it never connects, so its deliveries wait and readiness says why. */
function brokenSink(error: unknown): Sink {
  return {
    async connect() {
      throw new NotConnectedError(`sink could not be created: ${describeError(error)}`);
    },
    async deliver() {
      throw new NotConnectedError('sink could not be created');
    },
  };
}

/** The config without what a reload applies at once although it sits under `server`: the next shutdown reads `shutdown_timeout_ms`. */
const appliedAtOnce = (config: RelayConfig) => ({ ...config, server: { ...config.server, shutdown_timeout_ms: 0 } });

const limitsOf = (config: RelayConfig): Map<string, SinkLimit> =>
  new Map(config.sinks.map((s) => [s.name, { maxPendingBytes: s.max_pending_bytes, whenFull: s.when_full }]));

/**
 * The running relay: queue, one runner per sink, and the HTTP app. Construction
 * opens the queue and creates the sinks; `listen` starts serving; `close` drains.
 */
export class Relay {
  readonly app: FastifyInstance;
  readonly queue: QueueStore;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  readonly runners = new Map<string, SinkRunner>();
  readonly activity = new ActivityFeed();
  /** Sinks an operator paused, as the store last said. */
  private paused = new Set<string>();
  private pausedTimer: NodeJS.Timeout | null = null;
  private stopStallWatch = (): void => {};
  /** Payloads parsed at ingress, handed to sinks without a second parse. */
  private readonly payloads = new PayloadCache();
  private readonly sinks = new Map<string, Sink>();
  private draining = false;
  private started = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private state: IngressState;
  private reloading: Promise<unknown> = Promise.resolve();
  /** Old sink instances whose close() outlived a reload's deadline, still running: shutdown names them. */
  private readonly hungCloses = new Set<{ name: string; closing: Promise<void> }>();
  private readonly deadLetterBudget: DeadLetterBudget;

  private constructor(
    private current: RelayConfig,
    options: RelayOptions,
    queue: QueueStore,
  ) {
    const config = current;
    this.state = ingressState(config);
    this.logger = options.logger ?? createLogger(config.log.level);
    this.metrics = options.metrics ?? new RelayMetrics();
    this.queue = queue;
    this.queue.setSinkLimits(limitsOf(config));
    this.deadLetterBudget = new DeadLetterBudget(queue, config.dead_letters.max_bytes, this.metrics, this.logger, options.now);
    this.app = buildApp({
      config,
      queue: this.queue,
      metrics: this.metrics,
      logger: this.logger,
      readiness: () => this.readiness(),
      draining: () => this.draining,
      state: () => this.state,
      current: () => this.current,
      payloads: this.payloads,
      onParked: (bytes) => this.deadLetterBudget.parked(bytes),
      onReplay: () => {
        for (const runner of this.runners.values()) runner.notify();
      },
      activity: this.activity,
      operator: relayOperator({
        config: () => this.current,
        queue: this.queue,
        metrics: this.metrics,
        runners: this.runners,
        activity: this.activity,
        setPaused: (sink, paused) => this.setPaused(sink, paused),
      }),
    });
  }

  static async create(options: RelayOptions): Promise<Relay> {
    const logger = options.logger ?? createLogger(options.config.log.level);
    const queue = await openStore(options.config.queue, {
      now: options.now,
      history: options.config.history,
      migrate: true,
      onMigrationWait: () => logger.info('another relay is migrating the queue schema: waiting for it (no deadline)'),
    });
    const relay = new Relay(options.config, { ...options, logger }, queue);
    // Maintained counters and each runner's state: a scrape reads no deliveries.
    relay.metrics.observe(() => ({
      counters: relay.queue.counters(),
      bytes: relay.queue.usedBytes(),
      now: Date.now(),
      sinksUp: new Map([...relay.runners].map(([name, runner]) => [name, runner.state().up])),
    }));
    relay.options = options;
    relay.paused = await relay.queue.pausedSinks();
    for (const sinkConfig of options.config.sinks) await relay.addSink(sinkConfig, options.registry);
    relay.queue.onEnqueued((touched) => {
      for (const name of touched) relay.runners.get(name)?.notify();
    });
    relay.queue.onEventsRemoved?.((eventIds) => {
      for (const id of eventIds) relay.payloads.delete(id);
    });
    return relay;
  }

  private options!: RelayOptions;

  /** The config in force (a reload replaces it). */
  get config(): RelayConfig {
    return this.current;
  }

  private async addSink(config: SinkConfig, registry: SinkRegistry): Promise<void> {
    const sink = await this.createSink(config, registry);
    const runner = new SinkRunner({
      config,
      sink,
      store: this.queue,
      logger: this.logger.child({ sink: config.name }),
      metrics: this.metrics,
      now: this.options.now,
      random: this.options.random,
      healthcheckIntervalMs: this.options.healthcheckIntervalMs,
      isPaused: () => this.paused.has(config.name),
      onSettled: (delivered, failed) => this.activity.emit({ kind: 'settled', sink: config.name, delivered, failed, at: Date.now() }),
      payloads: this.payloads,
    });
    this.sinks.set(config.name, sink);
    this.runners.set(config.name, runner);
    if (this.started) runner.start();
  }

  /**
   * Stops a sink after its writes in flight (or `deadlineMs`), then closes it, waiting for
   * close() no longer than `deadlineMs` either: a close() that hangs must not hold the
   * sink's new instance and every later reload behind it. Its deliveries stay queued.
   */
  private async removeSink(name: string, deadlineMs: number): Promise<void> {
    await this.runners.get(name)?.stop(deadlineMs);
    this.runners.delete(name);
    const closing = this.closeSink(name);
    this.sinks.delete(name);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), deadlineMs)));
    const ended = await Promise.race([closing, limit]);
    clearTimeout(timer);
    if (ended !== 'hung') return;
    this.logger.error({ sink: name, code: 'RELAY_ERR_SINK_CLOSE_TIMEOUT', err: new RelayError('RELAY_ERR_SINK_CLOSE_TIMEOUT', [name, deadlineMs]).message }, 'sink close() hangs; reload goes on without it');
    const hung = { name, closing };
    this.hungCloses.add(hung);
    void closing.then(() => this.hungCloses.delete(hung));
  }

  /**
   * Applies a validated config to the running relay: routes, credentials and log level at
   * once; sinks whose settings changed are recreated, new ones added, removed ones closed,
   * and none of their pending deliveries is lost. What needs a restart (listen address,
   * queue, admin token, source paths) is returned, not applied.
   */
  reload(next: RelayConfig, registry: SinkRegistry, deadlineMs = 10_000): Promise<ReloadResult> {
    return this.serialized(() => this.applyReload(next, registry, deadlineMs));
  }

  /** Runs `task` after any reload (or upkeep) in progress; later ones wait for it. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.reloading.then(task);
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: RelayConfig, registry: SinkRegistry, deadlineMs: number): Promise<ReloadResult> {
    // Asked for while closing: nothing to apply to a relay that is going away.
    if (this.draining) return { added: [], changed: [], removed: [], needsRestart: [] };
    const previous = this.current;
    const needsRestart: string[] = [];
    for (const key of ['server', 'queue', 'admin'] as const) {
      if (!isDeepStrictEqual(appliedAtOnce(previous)[key], appliedAtOnce(next)[key])) needsRestart.push(key);
    }
    const paths = (c: RelayConfig): string => c.sources.map((s) => `${s.name} ${s.path}`).sort().join('\n');
    if (paths(previous) !== paths(next)) needsRestart.push('sources (names or paths)');

    const before = new Map(previous.sinks.map((s) => [s.name, s]));
    const after = new Map(next.sinks.map((s) => [s.name, s]));
    const removed = [...before.keys()].filter((name) => !after.has(name));
    const added = [...after.keys()].filter((name) => !before.has(name));
    const changed = [...after.keys()].filter((name) => before.has(name) && !isDeepStrictEqual(before.get(name), after.get(name)));

    // New sinks exist before routes name them; routes stop naming removed sinks before
    // those go, so nothing is routed to a sink without a runner. Changed sinks keep
    // their name: their deliveries wait in their lanes while the sink is recreated.
    for (const name of added) await this.addSink(after.get(name)!, registry);
    this.current = next;
    this.state = ingressState(next);
    this.queue.setSinkLimits(limitsOf(next));
    this.deadLetterBudget.setMaxBytes(next.dead_letters.max_bytes);
    this.logger.level = next.log.level;
    await Promise.all([...removed, ...changed].map((name) => this.removeSink(name, deadlineMs)));
    for (const name of changed) await this.addSink(after.get(name)!, registry);
    await this.parkOrphans();
    return { added, changed, removed, needsRestart };
  }

  private async createSink(config: SinkConfig, registry: SinkRegistry): Promise<Sink> {
    const logger = this.logger.child({ sink: config.name });
    try {
      const definition = registry.get(config.type);
      if (!definition) throw new Error(`no sink type "${config.type}"`);
      const sink = await definition.create(config.options, { name: config.name, logger, configDir: this.config.dir });
      // Exactly one form: a per-event sink (deliver) or a batch-native one (write).
      if ((typeof sink?.deliver === 'function') === (typeof sink?.write === 'function')) {
        throw new Error(`sink type "${config.type}" must give exactly one of deliver(event, signal) or write(batch, signal)`);
      }
      return sink;
    } catch (err) {
      logger.error({ err: describeError(err) }, 'sink could not be created; its deliveries wait in the queue');
      return brokenSink(err);
    }
  }

  /** Pauses or resumes a sink in the store (every replica sees it) and here at once. */
  async setPaused(sink: string, paused: boolean): Promise<void> {
    await this.queue.setPaused(sink, paused);
    if (paused) this.paused.add(sink);
    else this.paused.delete(sink);
    this.runners.get(sink)?.notify();
    this.logger.info({ sink }, paused ? 'sink paused by an operator' : 'sink resumed by an operator');
  }

  private async refreshPaused(): Promise<void> {
    try {
      const now = await this.queue.pausedSinks();
      const resumed = [...this.paused].filter((sink) => !now.has(sink));
      this.paused = now;
      for (const sink of resumed) this.runners.get(sink)?.notify();
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'paused sinks could not be read');
    }
  }

  readiness(): Readiness {
    const sinks: Record<string, SinkReadiness> = {};
    for (const [name, runner] of this.runners) {
      const { up, error, from } = runner.state();
      sinks[name] = { ready: up, error, from };
    }
    return { queue: this.queue.writable(), sinks };
  }

  /**
   * Deliveries of sinks with no runner (removed from the config, or disabled) would wait
   * forever and fill the queue: they become dead letters with the reason, replayable once
   * the sink is back.
   */
  private async parkOrphans(): Promise<void> {
    const disabled = new Set(this.current.disabledSinks);
    const reason = (sink: string): string => (disabled.has(sink) ? PARK_REASONS.disabled : PARK_REASONS.removed);
    try {
      // The config's names, not the runners: a changed sink has no runner for a moment during a reload.
      const parked = await this.queue.parkSinksExcept(new Set(this.current.sinks.map((s) => s.name)), reason);
      for (const [sink, count] of parked) {
        if (count === 0) continue;
        this.metrics.deadLettersParked.inc({ sink, reason: disabled.has(sink) ? 'sink_disabled' : 'sink_removed' }, count);
        this.logger.warn({ sink, count, reason: reason(sink) }, 'deliveries of a sink without a runner became dead letters');
      }
    } catch (err) {
      this.logger.error({ err: describeError(err) }, 'parking deliveries of removed sinks failed');
    }
  }

  /** Background upkeep, never during a reload: forget old dedupe keys, expire old dead letters. */
  private upkeep(): Promise<void> {
    return this.serialized(() => this.prune());
  }

  private async prune(): Promise<void> {
    // Also catches a delivery routed by a request that matched the old routes during a reload.
    await this.parkOrphans();
    try {
      await this.queue.pruneDedupe();
      const pruned = await this.queue.history.prune();
      if (pruned > 0) this.logger.debug({ count: pruned }, 'old history pruned');
      const expired = await this.queue.deadLetters.expire((this.options.now ?? Date.now)() - this.current.dead_letters.retention_seconds * 1000);
      if (expired > 0) {
        this.metrics.deadLettersExpired.inc({ reason: 'age' }, expired);
        this.logger.info({ count: expired }, 'expired dead letters dropped');
      }
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'queue prune failed');
    }
    await this.deadLetterBudget.trim();
  }

  /** Starts delivering what the queue holds (also what a previous run left). */
  async startDelivery(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const [sink, { pending }] of this.queue.counters()) {
      if (pending > 0 && this.runners.has(sink)) this.logger.info({ sink, count: pending }, 'resuming pending deliveries');
    }
    for (const runner of this.runners.values()) runner.start();
    this.pruneTimer = setInterval(() => void this.upkeep(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    this.pausedTimer = setInterval(() => void this.refreshPaused(), PAUSED_REFRESH_MS);
    this.pausedTimer.unref();
    this.stopStallWatch = watchLoopStalls(this.logger);
    await this.upkeep();
  }

  /**
   * Listens on the configured host and port (or `port` when given, 0 for any), then starts
   * delivering. A listen that fails closes the sinks and the queue, and throws.
   */
  async listen(port = this.config.server.port): Promise<string> {
    const { host } = this.config.server;
    let address: string;
    try {
      address = await this.app.listen({ host, port });
    } catch (err) {
      await this.close(0);
      throw new RelayError('RELAY_ERR_SERVE_LISTEN', [`${host}:${port}`, describeError(err)], { cause: err });
    }
    await this.startDelivery();
    return address;
  }

  /**
   * Stops taking webhooks (503 meanwhile) and, from the same moment, lets each sink finish
   * its writes within `deadlineMs` (then aborts them); requests in flight finish meanwhile.
   * Each sink closes once its writes ended (or a short grace after the abort), the queue
   * once all is done. What was acked and not delivered stays in the queue for the next start.
   * `track` hears each step begin and end, so that a caller can say which one hangs; a step
   * that throws does not stop the others, and is thrown at the end (ShutdownStepError).
   */
  async close(deadlineMs = 10_000, track: ShutdownTracker = () => () => {}): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.pausedTimer) clearInterval(this.pausedTimer);
    this.stopStallWatch();
    const steps = new ShutdownSteps(track);
    const http = steps.run('http server close (requests in flight)', () => this.app.close());
    // A reload in progress may still create runners: they are drained with the others.
    await steps.run('config reload in progress', () => this.reloading);
    for (const { name, closing } of this.hungCloses) void steps.run(`sink ${name}: close (old instance, from a reload)`, () => closing);
    await Promise.all(
      [...this.runners].map(async ([name, runner]) => {
        // Tracked until the writes settle, which may be after `stop` gave up on them: a
        // caller that waits for every step (serve) then names a write that never ends.
        void steps.run(`sink ${name}: write in flight`, () => runner.settled());
        await runner.stop(deadlineMs);
        await steps.run(`sink ${name}: close`, () => this.closeSink(name));
      }),
    );
    await http;
    await steps.run('queue close', async () => this.queue.close());
    steps.finish();
  }

  private async closeSink(name: string): Promise<void> {
    try {
      await this.sinks.get(name)?.close?.();
    } catch (err) {
      this.logger.warn({ sink: name, err: describeError(err) }, 'sink close failed');
    }
  }
}
