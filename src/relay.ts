import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type SinkReadiness } from './app.js';
import type { SinkRegistry } from './config/load.js';
import type { RelayConfig, SinkConfig } from './config/types.js';
import { describeError } from './errors.js';
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
  private pruneTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly config: RelayConfig,
    options: RelayOptions,
  ) {
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
    });
  }

  static async create(options: RelayOptions): Promise<Relay> {
    const relay = new Relay(options.config, options);
    for (const sinkConfig of options.config.sinks) {
      const sink = await relay.createSink(sinkConfig, options.registry);
      relay.sinks.set(sinkConfig.name, sink);
      relay.dispatchers.set(
        sinkConfig.name,
        new Dispatcher({
          config: sinkConfig,
          sink,
          queue: relay.queue,
          logger: relay.logger.child({ sink: sinkConfig.name }),
          metrics: relay.metrics,
          now: options.now,
          random: options.random,
        }),
      );
    }
    relay.queue.onEnqueued((touched) => {
      for (const name of touched) relay.dispatchers.get(name)?.notify();
    });
    return relay;
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

  readiness(): Record<string, SinkReadiness> {
    const out: Record<string, SinkReadiness> = {};
    for (const [name, dispatcher] of this.dispatchers) {
      out[name] = { ready: dispatcher.isConnected, error: dispatcher.error };
    }
    return out;
  }

  /** Starts delivering what the queue holds (also what a previous run left). */
  startDelivery(): void {
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
   * not delivered stays in the queue for the next start.
   */
  async close(deadlineMs = 10_000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.app.close();
    await Promise.all([...this.dispatchers.values()].map((d) => d.stop(deadlineMs)));
    await Promise.all(
      [...this.sinks].map(async ([name, sink]) => {
        try {
          await sink.close?.();
        } catch (err) {
          this.logger.warn({ sink: name, err: describeError(err) }, 'sink close failed');
        }
      }),
    );
    this.queue.close();
  }
}
