import type { Logger } from 'pino';

/** A Firecrawl webhook body as it was received (after envelope validation). */
export interface FirecrawlPayload {
  success: boolean;
  type: string;
  /** The job id. Legacy v0 senders call it `jobId`; the relay fills `id` from it. */
  id: string;
  data: unknown[] | Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Usually a message; any JSON as the sender wrote it (self-hosted v0 sends `{}`). */
  error?: unknown;
  /** Firecrawl's delivery id when a non-empty string (read it with `webhookIdOf`); any JSON as sent. */
  webhookId?: unknown;
  [key: string]: unknown;
}

/** One event handed to a sink: one delivery of one accepted webhook to this sink. */
export interface RelayEvent {
  /** Stable across every retry of this delivery: receivers can dedupe on it. */
  readonly deliveryId: string;
  /** The accepted webhook this delivery carries (several sinks share it). */
  readonly eventId: string;
  /** The source (config `sources.<name>`) that accepted it. */
  readonly source: string;
  readonly receivedAt: Date;
  /** 1 on the first try, 2 on the first retry, … */
  readonly attempt: number;
  readonly type: string;
  readonly jobId: string;
  readonly success: boolean;
  /** The parsed body. Treat it as read-only: other sinks receive the same event. */
  readonly payload: FirecrawlPayload;
  /** The exact bytes received, e.g. to forward them unchanged. */
  readonly raw: Buffer;
}

/** What `write` may resolve with when only some events of a batch failed. */
export interface WriteResult {
  /** Indexes into the batch of the events that failed, each with its error. */
  failed: ReadonlyArray<{ index: number; error: unknown }>;
}

/**
 * A sink's lifecycle, driven by the relay:
 *
 * 1. `connect()` once before the first write, and again (with backoff) after it threw or
 *    after a write threw `NotConnectedError`. Until it resolves, deliveries wait in the queue.
 * 2. `write(batch)` one batch at a time, never concurrently for one sink. Resolve only once
 *    the destination accepted every event; the relay then removes them from the queue. To
 *    fail some events, resolve `{ failed: [...] }`; to fail all, throw. Failed events are
 *    retried with backoff unless the error is a `PermanentError` (straight to dead letters).
 *    The relay aborts `signal` when a write takes longer than the sink's `write_timeout_ms`.
 * 3. `healthcheck()`, if present, answers readiness probes: throw when not able to deliver.
 * 4. `close()` once at shutdown or config reload, after the last write settled.
 */
export interface Sink {
  connect?(signal: AbortSignal): Promise<void>;
  write(batch: readonly RelayEvent[], signal: AbortSignal): Promise<void | WriteResult>;
  healthcheck?(): Promise<void>;
  close?(): Promise<void>;
}

/** Handed to `create`: what a sink instance may use of the relay. */
export interface SinkContext {
  /** The sink's name in the config (`sinks.<name>`). */
  readonly name: string;
  /** A child logger bound to `{ sink: name }`. Never log payloads or secrets. */
  readonly logger: Logger;
  /** The folder the config file lives in: resolve relative paths against it. */
  readonly configDir: string;
}

/** The `retry:` keys a sink definition may give defaults for. */
export interface RetryDefaults {
  initial_delay_ms: number;
  max_delay_ms: number;
  multiplier: number;
  jitter: number;
  max_attempts: number;
  max_age_seconds: number;
  schedule_ms: number[];
}

/** A problem `check` found: where in the sink's options, and what was expected. */
export interface OptionProblem {
  path: ReadonlyArray<string | number>;
  message: string;
}

/** A JSON Schema for a sink's own options (the relay handles `type`, `retry`, …). */
export type JsonSchema = Record<string, unknown>;

export interface SinkDefinition<Options = Record<string, unknown>> {
  /** The `type:` that selects this sink in `relay.config.yaml`. */
  readonly type: string;
  /** Validates the sink's options at load; defaults written here are filled in. */
  readonly configSchema: JsonSchema;
  /** Retry settings this kind of sink wants by default; the user's `retry:` keys win. */
  readonly retryDefaults?: Partial<RetryDefaults>;
  /**
   * Checks beyond the schema, at load (e.g. that a template can resolve). Each problem
   * is shown like any config error, at the file line of `path` inside the sink's options.
   */
  check?(options: Options): ReadonlyArray<OptionProblem>;
  /** Called once per configured sink, after its options passed `configSchema` and `check`. */
  create(options: Options, ctx: SinkContext): Sink | Promise<Sink>;
}
