import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type Readiness, type SinkReadiness } from './app.js';
import type { SinkRegistry } from './config/load.js';
import type { RelayConfig, SinkConfig } from './config/types.js';
import { describeError } from './errors.js';
import { ingressState, type IngressState } from './ingress/routes.js';
import { createLogger } from './logger.js';
import { RelayMetrics } from './metrics.js';
import { NotConnectedError } from './plugin-api/errors.js';
import type { Sink } from './plugin-api/types.js';
import { Dispatcher } from './queue/dispatcher.js';
import { Queue } from './queue/queue.js';

export interface RelayOptions {
  config: RelayConfig;
  registry: SinkRegistry;
  logger?: Logger;
  metrics?: RelayMetrics;
  now?: () => number;
  random?: () => number;
}

const DEDUPE_PRUNE_INTERVAL_MS = 60_000;

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
    async write() {
      throw new NotConnectedError('sink could not be created');
    },
  };
}

/**
 * The running relay: queue, one dispatcher per sink, and the HTTP app. Construction
 * opens the queue and creates the sinks; `listen` starts serving; `close` drains.
 */
export class Relay {
  readonly app: FastifyInstance;
  readonly queue: Queue;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  readonly dispatchers = new Map<string, Dispatcher>();
  private readonly sinks = new Map<string, Sink>();
  private draining = false;
  private started = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private state: IngressState;
  private reloading: Promise<unknown> = Promise.resolve();

  private constructor(
    private current: RelayConfig,
    options: RelayOptions,
  ) {
    const config = current;
    this.state = ingressState(config);
    this.logger = options.logger ?? createLogger(config.log.level);
    this.metrics = options.metrics ?? new RelayMetrics();
    this.queue = new Queue({
      dir: config.queue.dir,
      maxBytes: config.queue.max_bytes,
      dedupeWindowSeconds: config.queue.dedupe_window_seconds,
      now: options.now,
    });
    this.app = buildApp({
      config,
      queue: this.queue,
      metrics: this.metrics,
      logger: this.logger,
      readiness: () => this.readiness(),
      draining: () => this.draining,
      state: () => this.state,
      onReplay: () => {
        for (const dispatcher of this.dispatchers.values()) dispatcher.notify();
      },
    });
  }

  static async create(options: RelayOptions): Promise<Relay> {
    const relay = new Relay(options.config, options);
    relay.metrics.observe(() => {
      const { pending, dead } = relay.queue.stats();
      const sinksUp = new Map([...relay.dispatchers].map(([name, d]) => [name, d.isConnected]));
      return { pending, dead, bytes: relay.queue.usedBytes(), now: Date.now(), sinksUp };
    });
    relay.options = options;
    for (const sinkConfig of options.config.sinks) await relay.addSink(sinkConfig, options.registry);
    relay.queue.onEnqueued((touched) => {
      for (const name of touched) relay.dispatchers.get(name)?.notify();
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
    const dispatcher = new Dispatcher({
      config,
      sink,
      queue: this.queue,
      logger: this.logger.child({ sink: config.name }),
      metrics: this.metrics,
      now: this.options.now,
      random: this.options.random,
    });
    this.sinks.set(config.name, sink);
    this.dispatchers.set(config.name, dispatcher);
    if (this.started) dispatcher.start();
  }

  /** Stops a sink after its write in flight (or `deadlineMs`); its deliveries stay queued. */
  private async removeSink(name: string, deadlineMs: number): Promise<void> {
    await this.dispatchers.get(name)?.stop(deadlineMs);
    const sink = this.sinks.get(name);
    this.dispatchers.delete(name);
    this.sinks.delete(name);
    try {
      await sink?.close?.();
    } catch (err) {
      this.logger.warn({ sink: name, err: describeError(err) }, 'sink close failed');
    }
  }

  /**
   * Applies a validated config to the running relay: routes, credentials and log level at
   * once; sinks whose settings changed are recreated, new ones added, removed ones closed,
   * and none of their pending deliveries is lost. What needs a restart (listen address,
   * queue, admin token, source paths) is returned, not applied.
   */
  reload(next: RelayConfig, registry: SinkRegistry, deadlineMs = 10_000): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.applyReload(next, registry, deadlineMs));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: RelayConfig, registry: SinkRegistry, deadlineMs: number): Promise<ReloadResult> {
    const previous = this.current;
    const needsRestart: string[] = [];
    for (const key of ['server', 'queue', 'admin'] as const) {
      if (!isDeepStrictEqual(previous[key], next[key])) needsRestart.push(key);
    }
    const paths = (c: RelayConfig): string => c.sources.map((s) => `${s.name} ${s.path}`).sort().join('\n');
    if (paths(previous) !== paths(next)) needsRestart.push('sources (names or paths)');

    const before = new Map(previous.sinks.map((s) => [s.name, s]));
    const after = new Map(next.sinks.map((s) => [s.name, s]));
    const removed = [...before.keys()].filter((name) => !after.has(name));
    const added = [...after.keys()].filter((name) => !before.has(name));
    const changed = [...after.keys()].filter((name) => before.has(name) && !isDeepStrictEqual(before.get(name), after.get(name)));

    // New routes only after the sinks they name exist.
    await Promise.all([...removed, ...changed].map((name) => this.removeSink(name, deadlineMs)));
    for (const name of [...changed, ...added]) await this.addSink(after.get(name)!, registry);
    this.current = next;
    this.state = ingressState(next);
    this.logger.level = next.log.level;
    return { added, changed, removed, needsRestart };
  }

  private async createSink(config: SinkConfig, registry: SinkRegistry): Promise<Sink> {
    const logger = this.logger.child({ sink: config.name });
    try {
      const definition = registry.get(config.type);
      if (!definition) throw new Error(`no sink type "${config.type}"`);
      return await definition.create(config.options, { name: config.name, logger, configDir: this.config.dir });
    } catch (err) {
      logger.error({ err: describeError(err) }, 'sink could not be created; its deliveries wait in the queue');
      return brokenSink(err);
    }
  }

  readiness(): Readiness {
    const sinks: Record<string, SinkReadiness> = {};
    for (const [name, dispatcher] of this.dispatchers) {
      sinks[name] = { ready: dispatcher.isConnected, error: dispatcher.error };
    }
    return { queue: this.queue.writable(), sinks };
  }

  /** Starts delivering what the queue holds (also what a previous run left). */
  startDelivery(): void {
    this.started = true;
    const { pending } = this.queue.stats();
    for (const [sink, { count }] of pending) {
      if (!this.dispatchers.has(sink)) {
        this.logger.warn({ sink, count }, 'deliveries wait for a sink that is no longer configured');
      } else if (count > 0) this.logger.info({ sink, count }, 'resuming pending deliveries');
    }
    for (const dispatcher of this.dispatchers.values()) dispatcher.start();
    this.pruneTimer = setInterval(() => {
      try {
        this.queue.pruneDedupe();
      } catch (err) {
        this.logger.warn({ err: describeError(err) }, 'dedupe prune failed');
      }
    }, DEDUPE_PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  /** Listens on the configured host and port (or `port` when given, 0 for any). */
  async listen(port = this.config.server.port): Promise<string> {
    this.startDelivery();
    return this.app.listen({ host: this.config.server.host, port });
  }

  /**
   * Stops taking webhooks (503 meanwhile), finishes requests in flight, lets each sink
   * finish its write within `deadlineMs`, closes sinks and the queue. What was acked and
   * not delivered stays in the queue for the next start. `track` hears each step begin and
   * end, so that a caller can say which one hangs.
   */
  async close(deadlineMs = 10_000, track: ShutdownTracker = () => () => {}): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      const done = track(name);
      await run();
      done();
    };
    await step('http server close (requests in flight)', () => this.app.close());
    await Promise.all([...this.dispatchers].map(([name, d]) => step(`sink ${name}: write in flight`, () => d.stop(deadlineMs))));
    await Promise.all(
      [...this.sinks].map(([name, sink]) =>
        step(`sink ${name}: close`, async () => {
          try {
            await sink.close?.();
          } catch (err) {
            this.logger.warn({ sink: name, err: describeError(err) }, 'sink close failed');
          }
        }),
      ),
    );
    await step('queue close', async () => this.queue.close());
  }
}
